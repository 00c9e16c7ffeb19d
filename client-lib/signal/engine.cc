#include "client-lib/signal/engine.h"

#include <climits>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/crypto_provider.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/status.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {
namespace {

using storage::Space;

// Prekey ids (one-time and signed) live in 1..kMaxKeyId, as in Signal.
constexpr uint32_t kMaxKeyId = 0xFFFFFF;

uint32_t NextKeyId(uint32_t id) { return id % kMaxKeyId + 1; }

std::string ToString(const signal_buffer* b) {
  return std::string(reinterpret_cast<const char*>(signal_buffer_const_data(b)),
                     signal_buffer_len(b));
}

std::string Describe(const Address& a) { return absl::StrCat(a.user, ".", a.device_id); }

absl::Status ValidateAddress(const Address& a) {
  if (a.user.empty()) return absl::InvalidArgumentError("address has an empty user");
  if (a.device_id == 0 || a.device_id > static_cast<uint32_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("device id of ", Describe(a), " is out of range 1..2^31-1"));
  }
  return absl::OkStatus();
}

// The returned struct points into `a`, which must outlive it (and every cipher
// or builder made with it: libsignal keeps the pointer).
signal_protocol_address ToSignal(const Address& a) {
  return signal_protocol_address{a.user.data(), a.user.size(), static_cast<int32_t>(a.device_id)};
}

void Lock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->lock(); }
void Unlock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->unlock(); }

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

class Engine::Impl {
 public:
  explicit Impl(storage::LocalStore* store) : bridge(store) {}

  // Once a store callback failed, libsignal's code says nothing reliable
  // about the peer (some paths turn a failed load into INVALID_MESSAGE or
  // NO_SESSION): the failure is ours.
  absl::Status Sig(int code, absl::string_view what) const {
    if (code < 0 && !bridge.callback_error().ok()) {
      return LocalStoreError(what, bridge.callback_error());
    }
    return FromSignal(code, what, bridge.callback_error());
  }

  // SG_ERR_UNTRUSTED_IDENTITY says which of the two cases it is. Records
  // `offered` (if known) as the user's pending identity, in a write of its
  // own: the refused operation's writes are dropped.
  absl::Status Untrusted(const Address& address, absl::string_view what,
                         std::optional<std::string> offered = std::nullopt) {
    bridge.Abort();
    auto known = bridge.Get(Space::kTrust, bridge.TrustKey(address.user, address.device_id));
    if (!known.ok()) return LocalStoreError(what, known.status());
    if (offered.has_value()) {
      bridge.Put(Space::kPendingIdentity, bridge.TrustPrefix(address.user),
                 StoreBridge::U32Key(address.device_id) +
                     std::string(1, known->has_value() ? '\0' : '\1') + *offered);
      if (absl::Status s = bridge.Commit(); !s.ok()) return LocalStoreError(what, s);
    }
    if (known->has_value()) return FromSignal(SG_ERR_UNTRUSTED_IDENTITY, what);
    return absl::FailedPreconditionError(absl::StrCat(
        address.user, " has a new device with an unverified identity key; it may not be theirs, ",
        "so nothing is sent to or accepted from it until it is verified (", what, ")"));
  }

  absl::Status Commit(Transaction& txn, absl::string_view what) {
    return LocalStoreError(what, txn.Commit());
  }

  absl::StatusOr<SignalPtr<ec_public_key>> DecodePoint(absl::string_view bytes,
                                                       absl::string_view what) {
    ec_public_key* raw = nullptr;
    int rc = curve_decode_point(&raw, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                context.get());
    SignalPtr<ec_public_key> key = Adopt(raw);
    if (rc < 0) return Sig(rc, what);
    return key;
  }

  absl::StatusOr<std::string> SerializePublic(const ec_public_key* key) {
    signal_buffer* raw = nullptr;
    int rc = ec_public_key_serialize(&raw, key);
    SignalPtr<signal_buffer> buf = Adopt(raw);
    if (rc < 0) return Sig(rc, "serializing a public key");
    return ToString(buf.get());
  }

  absl::StatusOr<SignedPreKeyData> ToData(const session_signed_pre_key* spk) {
    SignedPreKeyData data;
    data.id = session_signed_pre_key_get_id(spk);
    SOTTO_ASSIGN_OR_RETURN(
        data.public_key,
        SerializePublic(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk))));
    data.signature =
        std::string(reinterpret_cast<const char*>(session_signed_pre_key_get_signature(spk)),
                    session_signed_pre_key_get_signature_len(spk));
    data.created_ms = static_cast<int64_t>(session_signed_pre_key_get_timestamp(spk));
    return data;
  }

  absl::StatusOr<std::vector<uint32_t>> SignedPreKeyIds() {
    SOTTO_ASSIGN_OR_RETURN(auto raw, bridge.Get(Space::kMeta, StoreBridge::kSignedPreKeyIds));
    std::vector<uint32_t> ids;
    if (!raw.has_value()) return ids;
    if (raw->size() % 4 != 0) return absl::DataLossError("signed prekey id list is damaged");
    for (size_t i = 0; i < raw->size(); i += 4) {
      ids.push_back(StoreBridge::ReadU32(absl::string_view(*raw).substr(i, 4)));
    }
    return ids;
  }

  absl::StatusOr<SignalPtr<session_cipher>> NewCipher(const signal_protocol_address* address,
                                                      absl::string_view what) {
    session_cipher* raw = nullptr;
    int rc = session_cipher_create(&raw, store_context.get(), address, context.get());
    SignalPtr<session_cipher> cipher = Adopt(raw);
    if (rc < 0) return Sig(rc, what);
    return cipher;
  }

  // Guards everything below; also libsignal's context lock (it must be
  // recursive: libsignal re-enters it, and our calls hold it around theirs).
  std::recursive_mutex mu;
  std::unique_ptr<CryptoProvider> crypto;
  StoreBridge bridge;
  // Declared after `crypto` and `bridge`, which they point to, so they go first.
  SignalPtr<signal_context> context;
  SignalPtr<signal_protocol_store_context> store_context;
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(storage::LocalStore* store) {
  if (store == nullptr) return absl::InvalidArgumentError("no local store");
  auto impl = std::make_unique<Impl>(store);
  SOTTO_ASSIGN_OR_RETURN(impl->crypto, CryptoProvider::Create());

  signal_context* ctx = nullptr;
  int rc = signal_context_create(&ctx, &impl->mu);
  impl->context = Adopt(ctx);
  if (rc >= 0) rc = signal_context_set_crypto_provider(ctx, &impl->crypto->provider());
  if (rc >= 0) rc = signal_context_set_locking_functions(ctx, Lock, Unlock);
  if (rc < 0) return FromSignal(rc, "creating the signal context");

  signal_protocol_store_context* store_ctx = nullptr;
  rc = signal_protocol_store_context_create(&store_ctx, ctx);
  impl->store_context = Adopt(store_ctx);
  if (rc < 0) return FromSignal(rc, "creating the signal store context");
  SOTTO_RETURN_IF_ERROR(impl->bridge.Install(store_ctx));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

absl::Status Engine::CreateIdentity() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  SOTTO_ASSIGN_OR_RETURN(auto existing,
                         impl_->bridge.Get(Space::kIdentity, StoreBridge::kPublicKey));
  if (existing.has_value()) return absl::AlreadyExistsError("this device already has an identity");

  constexpr absl::string_view kWhat = "creating the identity";
  ratchet_identity_key_pair* raw_pair = nullptr;
  int rc = signal_protocol_key_helper_generate_identity_key_pair(&raw_pair, impl_->context.get());
  SignalPtr<ratchet_identity_key_pair> pair = Adopt(raw_pair);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  uint32_t registration_id = 0;
  rc = signal_protocol_key_helper_generate_registration_id(&registration_id, 0,
                                                           impl_->context.get());
  if (rc < 0) return impl_->Sig(rc, kWhat);

  SOTTO_ASSIGN_OR_RETURN(std::string pub,
                         impl_->SerializePublic(ratchet_identity_key_pair_get_public(pair.get())));
  signal_buffer* raw_priv = nullptr;
  rc = ec_private_key_serialize(&raw_priv, ratchet_identity_key_pair_get_private(pair.get()));
  SignalPtr<signal_buffer> priv = Adopt(raw_priv);
  if (rc < 0) return impl_->Sig(rc, kWhat);

  impl_->bridge.Put(Space::kIdentity, std::string(StoreBridge::kPublicKey), pub);
  impl_->bridge.Put(Space::kIdentity, std::string(StoreBridge::kPrivateKey), ToString(priv.get()));
  impl_->bridge.Put(Space::kMeta, std::string(StoreBridge::kRegistrationId),
                    StoreBridge::U32Key(registration_id));
  return txn.Commit();
}

absl::StatusOr<uint32_t> Engine::RegistrationId() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto raw, impl_->bridge.Get(Space::kMeta, StoreBridge::kRegistrationId));
  if (!raw.has_value())
    return absl::FailedPreconditionError("no identity: call CreateIdentity first");
  if (raw->size() != 4) return absl::DataLossError("registration id is damaged");
  return StoreBridge::ReadU32(*raw);
}

absl::StatusOr<std::string> Engine::IdentityPublicKey() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto raw, impl_->bridge.Get(Space::kIdentity, StoreBridge::kPublicKey));
  if (!raw.has_value())
    return absl::FailedPreconditionError("no identity: call CreateIdentity first");
  return *std::move(raw);
}

absl::StatusOr<SignedPreKeyData> Engine::RotateSignedPreKey(int64_t now_ms) {
  if (now_ms < 0) return absl::InvalidArgumentError("signed prekey time is negative");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  constexpr absl::string_view kWhat = "rotating the signed prekey";

  ratchet_identity_key_pair* raw_pair = nullptr;
  int rc = signal_protocol_identity_get_key_pair(impl_->store_context.get(), &raw_pair);
  SignalPtr<ratchet_identity_key_pair> pair = Adopt(raw_pair);
  if (rc < 0) return impl_->Sig(rc, kWhat);

  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, impl_->SignedPreKeyIds());
  const uint32_t id = ids.empty() ? 1 : NextKeyId(ids.back());
  session_signed_pre_key* raw_spk = nullptr;
  rc = signal_protocol_key_helper_generate_signed_pre_key(
      &raw_spk, pair.get(), id, static_cast<uint64_t>(now_ms), impl_->context.get());
  SignalPtr<session_signed_pre_key> spk = Adopt(raw_spk);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  rc = signal_protocol_signed_pre_key_store_key(impl_->store_context.get(), spk.get());
  if (rc < 0) return impl_->Sig(rc, kWhat);

  ids.push_back(id);
  while (ids.size() > kSignedPreKeysKept) {
    impl_->bridge.Delete(Space::kSignedPreKey, StoreBridge::U32Key(ids.front()));
    ids.erase(ids.begin());
  }
  std::string list;
  for (uint32_t i : ids) list += StoreBridge::U32Key(i);
  impl_->bridge.Put(Space::kMeta, std::string(StoreBridge::kSignedPreKeyIds), std::move(list));

  SOTTO_ASSIGN_OR_RETURN(SignedPreKeyData data, impl_->ToData(spk.get()));
  SOTTO_RETURN_IF_ERROR(txn.Commit());
  return data;
}

absl::StatusOr<SignedPreKeyData> Engine::CurrentSignedPreKey() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, impl_->SignedPreKeyIds());
  if (ids.empty()) return absl::NotFoundError("no signed prekey yet: call RotateSignedPreKey");
  session_signed_pre_key* raw = nullptr;
  int rc = signal_protocol_signed_pre_key_load_key(impl_->store_context.get(), &raw, ids.back());
  SignalPtr<session_signed_pre_key> spk = Adopt(raw);
  if (rc < 0) return impl_->Sig(rc, absl::StrCat("loading signed prekey ", ids.back()));
  return impl_->ToData(spk.get());
}

absl::StatusOr<std::vector<OneTimePreKeyData>> Engine::GeneratePreKeys(uint32_t count) {
  if (count == 0 || count > kMaxPreKeysPerCall) {
    return absl::InvalidArgumentError(
        absl::StrCat("prekey count ", count, " is out of range 1..", kMaxPreKeysPerCall));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  constexpr absl::string_view kWhat = "generating prekeys";
  SOTTO_ASSIGN_OR_RETURN(auto raw_next,
                         impl_->bridge.Get(Space::kMeta, StoreBridge::kNextPreKeyId));
  uint32_t next = 1;
  if (raw_next.has_value()) {
    if (raw_next->size() != 4) return absl::DataLossError("next prekey id is damaged");
    next = StoreBridge::ReadU32(*raw_next);
    if (next == 0 || next > kMaxKeyId) next = 1;
  }
  std::vector<OneTimePreKeyData> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t id = next;
    next = NextKeyId(next);
    ec_key_pair* raw_pair = nullptr;
    int rc = curve_generate_key_pair(impl_->context.get(), &raw_pair);
    SignalPtr<ec_key_pair> key_pair = Adopt(raw_pair);
    if (rc < 0) return impl_->Sig(rc, kWhat);
    session_pre_key* raw_pre_key = nullptr;
    rc = session_pre_key_create(&raw_pre_key, id, key_pair.get());
    SignalPtr<session_pre_key> pre_key = Adopt(raw_pre_key);
    if (rc < 0) return impl_->Sig(rc, kWhat);
    rc = signal_protocol_pre_key_store_key(impl_->store_context.get(), pre_key.get());
    if (rc < 0) return impl_->Sig(rc, kWhat);
    SOTTO_ASSIGN_OR_RETURN(std::string pub,
                           impl_->SerializePublic(ec_key_pair_get_public(key_pair.get())));
    out.push_back(OneTimePreKeyData{id, std::move(pub)});
  }
  impl_->bridge.Put(Space::kMeta, std::string(StoreBridge::kNextPreKeyId),
                    StoreBridge::U32Key(next));
  SOTTO_RETURN_IF_ERROR(txn.Commit());
  return out;
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

absl::StatusOr<std::optional<std::string>> Engine::TrustedIdentity(const Address& address) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  return impl_->bridge.Get(Space::kTrust, impl_->bridge.TrustKey(address.user, address.device_id));
}

absl::StatusOr<std::optional<std::string>> Engine::TrustedIdentity(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto entries,
                         impl_->bridge.Scan(Space::kTrust, impl_->bridge.TrustPrefix(user)));
  if (entries.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(entries.front().value));
}

absl::StatusOr<std::optional<Engine::PendingKey>> Engine::PendingIdentity(
    absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto raw, impl_->bridge.Get(Space::kPendingIdentity,
                                                     impl_->bridge.TrustPrefix(user)));
  if (!raw.has_value()) return std::optional<PendingKey>();
  if (raw->size() <= 5) return absl::DataLossError("pending identity record is damaged");
  return std::optional<PendingKey>(
      PendingKey{StoreBridge::ReadU32(*raw), raw->substr(5), (*raw)[4] != '\0'});
}

absl::Status Engine::AcceptPendingIdentity(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  const std::string what = absl::StrCat("accepting the new identity key of ", user);
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  StoreBridge& b = impl_->bridge;
  const std::string blinded = b.TrustPrefix(user);
  SOTTO_ASSIGN_OR_RETURN(auto pending, b.Get(Space::kPendingIdentity, blinded));
  if (!pending.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(user, "'s identity key has not changed: there is nothing to accept"));
  }
  if (pending->size() <= 5) return absl::DataLossError("pending identity record is damaged");
  const uint32_t device = StoreBridge::ReadU32(*pending);
  const std::string key = pending->substr(5);
  SOTTO_ASSIGN_OR_RETURN(auto trusted, b.Scan(Space::kTrust, blinded));
  for (auto& e : trusted) b.Delete(Space::kTrust, std::move(e.key));
  SOTTO_ASSIGN_OR_RETURN(auto sessions, b.Scan(Space::kSession, b.SessionPrefix(user)));
  for (auto& e : sessions) b.Delete(Space::kSession, std::move(e.key));
  b.Delete(Space::kVerified, blinded);
  b.Delete(Space::kPendingIdentity, blinded);
  b.Put(Space::kTrust, b.TrustKey(user, device), key);
  return impl_->Commit(txn, what);
}

absl::Status Engine::MarkVerified(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  SOTTO_ASSIGN_OR_RETURN(auto pending, PendingIdentity(user));
  if (pending.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        user, "'s identity key changed and the new key is not accepted yet: compare the new "
              "safety number and accept it first"));
  }
  SOTTO_ASSIGN_OR_RETURN(auto trusted, TrustedIdentity(user));
  if (!trusted.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no identity key of ", user, " is known yet: exchange a message first"));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  impl_->bridge.Put(Space::kVerified, impl_->bridge.TrustPrefix(user), *trusted);
  return impl_->Commit(txn, absl::StrCat("marking ", user, " verified"));
}

absl::StatusOr<bool> Engine::IsVerified(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  SOTTO_ASSIGN_OR_RETURN(auto trusted, TrustedIdentity(user));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto verified,
                         impl_->bridge.Get(Space::kVerified, impl_->bridge.TrustPrefix(user)));
  return trusted.has_value() && verified.has_value() && *trusted == *verified;
}

absl::StatusOr<SafetyNumberData> Engine::SafetyNumber(absl::string_view local_user,
                                                      absl::string_view remote_user,
                                                      absl::string_view remote_identity_key) {
  const std::string what = absl::StrCat("computing the safety number with ", remote_user);
  SOTTO_ASSIGN_OR_RETURN(std::string local_key, IdentityPublicKey());
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> local, impl_->DecodePoint(local_key, what));
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> remote,
                         impl_->DecodePoint(remote_identity_key, what));
  fingerprint_generator* raw_generator = nullptr;
  int rc = fingerprint_generator_create(&raw_generator, kFingerprintIterations,
                                        kScannableFingerprintVersion, impl_->context.get());
  SignalPtr<fingerprint_generator> generator = Adopt(raw_generator);
  if (rc < 0) return impl_->Sig(rc, what);
  const std::string local_id(local_user), remote_id(remote_user);
  fingerprint* raw_fingerprint = nullptr;
  rc = fingerprint_generator_create_for(generator.get(), local_id.c_str(), local.get(),
                                        remote_id.c_str(), remote.get(), &raw_fingerprint);
  SignalPtr<fingerprint> fp = Adopt(raw_fingerprint);
  if (rc < 0) return impl_->Sig(rc, what);
  SafetyNumberData out;
  out.displayable = displayable_fingerprint_text(fingerprint_get_displayable(fp.get()));
  signal_buffer* raw_scannable = nullptr;
  rc = scannable_fingerprint_serialize(&raw_scannable, fingerprint_get_scannable(fp.get()));
  SignalPtr<signal_buffer> scannable = Adopt(raw_scannable);
  if (rc < 0) return impl_->Sig(rc, what);
  out.scannable = ToString(scannable.get());
  return out;
}

}  // namespace sotto::client::signal
