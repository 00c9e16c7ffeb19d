#ifndef SOTTO_CLIENT_LIB_SIGNAL_ENGINE_IMPL_H_
#define SOTTO_CLIENT_LIB_SIGNAL_ENGINE_IMPL_H_

// Private to the Engine's own files; callers include engine.h. The Engine is
// implemented in four files, one concept each:
//   engine.cc          opening: libsignal's contexts over the StoreBridge
//   engine_keys.cc     this device's keys: identity, signed and one-time prekeys
//   engine_sessions.cc sessions: X3DH from a bundle, encrypt, decrypt
//   engine_trust.cc    others' identity keys: trust, pending changes,
//                      verification and safety numbers
// This header holds the state they share (Engine::Impl) and small helpers.

#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client-lib/signal/crypto_provider.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/store_bridge.h"

namespace sotto::client::signal {
namespace engine_internal {

// Prekey ids (one-time and signed) live in 1..kMaxKeyId, as in Signal.
inline constexpr uint32_t kMaxKeyId = 0xFFFFFF;

inline uint32_t NextKeyId(uint32_t id) { return id % kMaxKeyId + 1; }

inline std::string ToString(const signal_buffer* b) {
  return std::string(reinterpret_cast<const char*>(signal_buffer_const_data(b)),
                     signal_buffer_len(b));
}

inline std::string Describe(const Address& a) { return absl::StrCat(a.user, ".", a.device_id); }

inline absl::Status ValidateAddress(const Address& a) {
  if (a.user.empty()) return absl::InvalidArgumentError("address has an empty user");
  if (a.device_id == 0 || a.device_id > static_cast<uint32_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("device id of ", Describe(a), " is out of range 1..2^31-1"));
  }
  return absl::OkStatus();
}

// The returned struct points into `a`, which must outlive it (and every cipher
// or builder made with it: libsignal keeps the pointer).
inline signal_protocol_address ToSignal(const Address& a) {
  return signal_protocol_address{a.user.data(), a.user.size(), static_cast<int32_t>(a.device_id)};
}

// Holds back a StoreBridge's writes until Commit; forgets them otherwise.
class Transaction {
 public:
  explicit Transaction(StoreBridge& bridge) : bridge_(bridge) { bridge_.Begin(); }
  ~Transaction() {
    if (!done_) bridge_.Abort();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  absl::Status Commit() {
    done_ = true;
    return bridge_.Commit();
  }

 private:
  StoreBridge& bridge_;
  bool done_ = false;
};

}  // namespace engine_internal

class Engine::Impl {
 public:
  explicit Impl(storage::LocalStore* store) : bridge(store) {}

  // ---- engine.cc

  // Once a store callback failed, libsignal's code says nothing reliable
  // about the peer (some paths turn a failed load into INVALID_MESSAGE or
  // NO_SESSION): the failure is ours.
  absl::Status Sig(int code, absl::string_view what) const;
  absl::Status Commit(engine_internal::Transaction& txn, absl::string_view what);
  absl::StatusOr<SignalPtr<ec_public_key>> DecodePoint(absl::string_view bytes,
                                                       absl::string_view what);
  absl::StatusOr<std::string> SerializePublic(const ec_public_key* key);

  // ---- engine_keys.cc

  absl::StatusOr<SignedPreKeyData> ToData(const session_signed_pre_key* spk);
  absl::StatusOr<std::vector<uint32_t>> SignedPreKeyIds();

  // ---- engine_sessions.cc

  absl::StatusOr<SignalPtr<session_cipher>> NewCipher(const signal_protocol_address* address,
                                                      absl::string_view what);

  // ---- engine_trust.cc

  // SG_ERR_UNTRUSTED_IDENTITY says which of the two cases it is. Records
  // `offered` (if known) as the user's pending identity, in a write of its
  // own: the refused operation's writes are dropped.
  absl::Status Untrusted(const Address& address, absl::string_view what,
                         std::optional<std::string> offered = std::nullopt);

  // Guards everything below; also libsignal's context lock (it must be
  // recursive: libsignal re-enters it, and our calls hold it around theirs).
  std::recursive_mutex mu;
  std::unique_ptr<CryptoProvider> crypto;
  StoreBridge bridge;
  // Declared after `crypto` and `bridge`, which they point to, so they go first.
  SignalPtr<signal_context> context;
  SignalPtr<signal_protocol_store_context> store_context;
};

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_ENGINE_IMPL_H_
