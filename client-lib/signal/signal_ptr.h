#ifndef SOTTO_CLIENT_LIB_SIGNAL_SIGNAL_PTR_H_
#define SOTTO_CLIENT_LIB_SIGNAL_SIGNAL_PTR_H_

// Owning handles for libsignal-protocol-c objects. Business code holds every
// libsignal object in a SignalPtr and never calls SIGNAL_UNREF or *_free
// itself. The deleter is defined only for real libsignal types, so
// SignalPtr<SomethingElse> does not compile.
//
// Top-level objects have their own destructor functions; everything else is
// reference counted (SIGNAL_UNREF). Mixing them up leaks or corrupts memory,
// which is why each type is listed here once.

#include <signal/curve.h>
#include <signal/fingerprint.h>
#include <signal/key_helper.h>
#include <signal/protocol.h>
#include <signal/ratchet.h>
#include <signal/session_builder.h>
#include <signal/session_cipher.h>
#include <signal/session_pre_key.h>
#include <signal/session_record.h>
#include <signal/signal_protocol.h>

#include <memory>

namespace sotto::client::signal {

// Left undefined: only the specialisations below exist.
template <typename T>
struct SignalDeleter;

template <>
struct SignalDeleter<signal_context> {
  void operator()(signal_context* p) const { signal_context_destroy(p); }
};
template <>
struct SignalDeleter<signal_protocol_store_context> {
  void operator()(signal_protocol_store_context* p) const {
    signal_protocol_store_context_destroy(p);
  }
};
template <>
struct SignalDeleter<session_builder> {
  void operator()(session_builder* p) const { session_builder_free(p); }
};
template <>
struct SignalDeleter<session_cipher> {
  void operator()(session_cipher* p) const { session_cipher_free(p); }
};
// Buffers may hold secrets (keys, plaintexts): always wiped.
template <>
struct SignalDeleter<signal_buffer> {
  void operator()(signal_buffer* p) const { signal_buffer_bzero_free(p); }
};
template <>
struct SignalDeleter<signal_int_list> {
  void operator()(signal_int_list* p) const { signal_int_list_free(p); }
};
template <>
struct SignalDeleter<signal_protocol_key_helper_pre_key_list_node> {
  void operator()(signal_protocol_key_helper_pre_key_list_node* p) const {
    signal_protocol_key_helper_key_list_free(p);
  }
};

template <>
struct SignalDeleter<fingerprint_generator> {
  void operator()(fingerprint_generator* p) const { fingerprint_generator_free(p); }
};

// Reference-counted types.
#define SOTTO_SIGNAL_REFCOUNTED_(T)                  \
  template <>                                        \
  struct SignalDeleter<T> {                          \
    void operator()(T* p) const { SIGNAL_UNREF(p); } \
  }
SOTTO_SIGNAL_REFCOUNTED_(ec_public_key);
SOTTO_SIGNAL_REFCOUNTED_(ec_private_key);
SOTTO_SIGNAL_REFCOUNTED_(ec_key_pair);
SOTTO_SIGNAL_REFCOUNTED_(ratchet_identity_key_pair);
SOTTO_SIGNAL_REFCOUNTED_(session_pre_key);
SOTTO_SIGNAL_REFCOUNTED_(session_signed_pre_key);
SOTTO_SIGNAL_REFCOUNTED_(session_pre_key_bundle);
SOTTO_SIGNAL_REFCOUNTED_(session_record);
SOTTO_SIGNAL_REFCOUNTED_(ciphertext_message);
SOTTO_SIGNAL_REFCOUNTED_(signal_message);
SOTTO_SIGNAL_REFCOUNTED_(pre_key_signal_message);
SOTTO_SIGNAL_REFCOUNTED_(fingerprint);
#undef SOTTO_SIGNAL_REFCOUNTED_

template <typename T>
using SignalPtr = std::unique_ptr<T, SignalDeleter<T>>;

// Adopts `p` (which the caller owns, e.g. an out-parameter just filled in).
template <typename T>
SignalPtr<T> Adopt(T* p) {
  return SignalPtr<T>(p);
}

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_SIGNAL_PTR_H_
