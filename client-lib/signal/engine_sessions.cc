// Sessions with other devices: X3DH from a fetched bundle, then the Double
// Ratchet's encrypt and decrypt, each committed with its session state in one
// LocalStore write.

#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/engine_impl.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/status.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {
namespace {

using engine_internal::Describe;
using engine_internal::ToSignal;
using engine_internal::ToString;
using engine_internal::Transaction;
using engine_internal::ValidateAddress;
using storage::Space;

using PlaintextFn = Engine::PlaintextFn;

struct DecryptContext {
  const PlaintextFn* on_plaintext;
  StoreBridge* bridge;
  // on_plaintext's error, returned by Decrypt.
  absl::Status callback_error;
};

// Runs after decryption and before libsignal stores the new session state:
// the caller's writes join the same transaction. An error makes libsignal
// return before it stores the session or removes the one-time prekey, so the
// message stays decryptable (an application code: below SG_ERR_MINIMUM).
int OnDecrypted(session_cipher*, signal_buffer* plaintext, void* decrypt_context) {
  auto* d = static_cast<DecryptContext*>(decrypt_context);
  if (d == nullptr || d->on_plaintext == nullptr || !*d->on_plaintext) return SG_SUCCESS;
  try {
    absl::StatusOr<std::vector<storage::Write>> writes = (*d->on_plaintext)(
        absl::string_view(reinterpret_cast<const char*>(signal_buffer_const_data(plaintext)),
                          signal_buffer_len(plaintext)));
    if (!writes.ok()) {
      d->callback_error = writes.status();
      return kErrCallbackFailed;
    }
    d->bridge->AddWrites(std::move(*writes));
  } catch (...) {
    // An exception must not unwind through libsignal's C frames.
    d->callback_error = absl::InternalError("the plaintext handler threw an exception");
    return kErrCallbackFailed;
  }
  return SG_SUCCESS;
}

}  // namespace

absl::StatusOr<SignalPtr<session_cipher>> Engine::Impl::NewCipher(
    const signal_protocol_address* address, absl::string_view what) {
  session_cipher* raw = nullptr;
  int rc = session_cipher_create(&raw, store_context.get(), address, context.get());
  SignalPtr<session_cipher> cipher = Adopt(raw);
  if (rc < 0) return Sig(rc, what);
  return cipher;
}

absl::StatusOr<bool> Engine::HasSession(const Address& address) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(
      auto raw, impl_->bridge.Get(Space::kSession,
                                  impl_->bridge.SessionKey(address.user, address.device_id)));
  return raw.has_value();
}

absl::StatusOr<std::vector<uint32_t>> Engine::SessionDevices(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  const std::string prefix = impl_->bridge.SessionPrefix(user);
  SOTTO_ASSIGN_OR_RETURN(auto entries, impl_->bridge.Scan(Space::kSession, prefix));
  std::vector<uint32_t> devices;
  for (const storage::Entry& e : entries) {
    if (e.key.size() != prefix.size() + 4) continue;
    devices.push_back(StoreBridge::ReadU32(absl::string_view(e.key).substr(prefix.size())));
  }
  return devices;  // big-endian keys scan in ascending device order
}

absl::Status Engine::DeleteSession(const Address& address) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  impl_->bridge.Delete(Space::kSession, impl_->bridge.SessionKey(address.user, address.device_id));
  return txn.Commit();
}

absl::Status Engine::ProcessBundle(const Address& address, const Bundle& bundle) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  const std::string what = absl::StrCat("processing the prekey bundle of ", Describe(address));
  if (bundle.device_id != address.device_id) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": bundle is for device ", bundle.device_id));
  }
  // session_pre_key_bundle_create keeps no buffer for an empty signature and
  // session_builder_process_pre_key_bundle then reads it without a null
  // check: a server sending a bundle without a signature would crash us
  // (found by tests/fuzz/bundle_fuzz). XEdDSA signatures are 64 bytes.
  if (bundle.signed_prekey_signature.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": signed prekey signature must be 64 bytes, got ",
                     bundle.signed_prekey_signature.size()));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  SOTTO_ASSIGN_OR_RETURN(
      SignalPtr<ec_public_key> identity,
      impl_->DecodePoint(bundle.identity_key, absl::StrCat(what, " (identity key)")));
  SOTTO_ASSIGN_OR_RETURN(
      SignalPtr<ec_public_key> signed_prekey,
      impl_->DecodePoint(bundle.signed_prekey_public, absl::StrCat(what, " (signed prekey)")));
  SignalPtr<ec_public_key> one_time;
  if (bundle.one_time_prekey.has_value()) {
    SOTTO_ASSIGN_OR_RETURN(one_time, impl_->DecodePoint(bundle.one_time_prekey->public_key,
                                                        absl::StrCat(what, " (one-time prekey)")));
  }
  session_pre_key_bundle* raw_bundle = nullptr;
  int rc = session_pre_key_bundle_create(
      &raw_bundle, bundle.registration_id, static_cast<int>(bundle.device_id),
      one_time ? bundle.one_time_prekey->id : 0, one_time.get(), bundle.signed_prekey_id,
      signed_prekey.get(), reinterpret_cast<const uint8_t*>(bundle.signed_prekey_signature.data()),
      bundle.signed_prekey_signature.size(), identity.get());
  SignalPtr<session_pre_key_bundle> pre_key_bundle = Adopt(raw_bundle);
  if (rc < 0) return impl_->Sig(rc, what);

  const signal_protocol_address addr = ToSignal(address);
  session_builder* raw_builder = nullptr;
  rc =
      session_builder_create(&raw_builder, impl_->store_context.get(), &addr, impl_->context.get());
  SignalPtr<session_builder> builder = Adopt(raw_builder);
  if (rc < 0) return impl_->Sig(rc, what);
  rc = session_builder_process_pre_key_bundle(builder.get(), pre_key_bundle.get());
  if (rc == SG_ERR_UNTRUSTED_IDENTITY && impl_->bridge.callback_error().ok()) {
    return impl_->Untrusted(address, what, bundle.identity_key);
  }
  if (rc < 0) return impl_->Sig(rc, what);
  return impl_->Commit(txn, what);
}

absl::StatusOr<Ciphertext> Engine::Encrypt(const Address& address, absl::string_view plaintext) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  const std::string what = absl::StrCat("encrypting for ", Describe(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  const signal_protocol_address addr = ToSignal(address);
  int rc = signal_protocol_session_contains_session(impl_->store_context.get(), &addr);
  if (rc < 0) return impl_->Sig(rc, what);
  if (rc == 0) return absl::NotFoundError(absl::StrCat(what, ": no session"));

  SOTTO_ASSIGN_OR_RETURN(SignalPtr<session_cipher> cipher, impl_->NewCipher(&addr, what));
  ciphertext_message* raw_message = nullptr;
  rc = session_cipher_encrypt(cipher.get(), reinterpret_cast<const uint8_t*>(plaintext.data()),
                              plaintext.size(), &raw_message);
  SignalPtr<ciphertext_message> message = Adopt(raw_message);
  if (rc < 0) return impl_->Sig(rc, what);

  Ciphertext out;
  out.type = ciphertext_message_get_type(message.get()) == CIPHERTEXT_PREKEY_TYPE
                 ? MessageType::kPreKey
                 : MessageType::kCiphertext;
  out.body = ToString(ciphertext_message_get_serialized(message.get()));
  SOTTO_RETURN_IF_ERROR(impl_->Commit(txn, what));
  return out;
}

absl::StatusOr<std::string> Engine::Decrypt(const Address& from, const Ciphertext& message,
                                            PlaintextFn on_plaintext) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(from));
  const std::string what = absl::StrCat("decrypting from ", Describe(from));
  const auto* body = reinterpret_cast<const uint8_t*>(message.body.data());
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  const signal_protocol_address addr = ToSignal(from);
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<session_cipher> cipher, impl_->NewCipher(&addr, what));
  session_cipher_set_decryption_callback(cipher.get(), OnDecrypted);
  DecryptContext context{&on_plaintext, &impl_->bridge, absl::OkStatus()};

  signal_buffer* raw_plain = nullptr;
  std::optional<std::string> offered_identity;
  int rc;
  switch (message.type) {
    case MessageType::kPreKey: {
      pre_key_signal_message* raw = nullptr;
      rc =
          pre_key_signal_message_deserialize(&raw, body, message.body.size(), impl_->context.get());
      SignalPtr<pre_key_signal_message> parsed = Adopt(raw);
      if (rc < 0) return impl_->Sig(rc, what);
      if (const ec_public_key* key = pre_key_signal_message_get_identity_key(parsed.get())) {
        auto serialized = impl_->SerializePublic(key);
        if (serialized.ok()) offered_identity = *std::move(serialized);
      }
      rc = session_cipher_decrypt_pre_key_signal_message(cipher.get(), parsed.get(), &context,
                                                         &raw_plain);
      break;
    }
    case MessageType::kCiphertext: {
      signal_message* raw = nullptr;
      rc = signal_message_deserialize(&raw, body, message.body.size(), impl_->context.get());
      SignalPtr<signal_message> parsed = Adopt(raw);
      if (rc < 0) return impl_->Sig(rc, what);
      rc = session_cipher_decrypt_signal_message(cipher.get(), parsed.get(), &context, &raw_plain);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": unknown message type ", static_cast<int>(message.type)));
  }
  SignalPtr<signal_buffer> plain = Adopt(raw_plain);
  if (rc == kErrCallbackFailed && !context.callback_error.ok()) return context.callback_error;
  if (rc == SG_ERR_UNTRUSTED_IDENTITY && impl_->bridge.callback_error().ok()) {
    return impl_->Untrusted(from, what, std::move(offered_identity));
  }
  if (rc < 0) return impl_->Sig(rc, what);
  std::string out = ToString(plain.get());
  SOTTO_RETURN_IF_ERROR(impl_->Commit(txn, what));
  return out;
}

absl::StatusOr<uint32_t> Engine::RemoteRegistrationId(const Address& address) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  const std::string what = absl::StrCat("reading the registration id of ", Describe(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);  // reads only; never committed
  const signal_protocol_address addr = ToSignal(address);
  int rc = signal_protocol_session_contains_session(impl_->store_context.get(), &addr);
  if (rc < 0) return impl_->Sig(rc, what);
  if (rc == 0) return absl::NotFoundError(absl::StrCat(what, ": no session"));
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<session_cipher> cipher, impl_->NewCipher(&addr, what));
  uint32_t id = 0;
  rc = session_cipher_get_remote_registration_id(cipher.get(), &id);
  if (rc < 0) return impl_->Sig(rc, what);
  return id;
}

}  // namespace sotto::client::signal
