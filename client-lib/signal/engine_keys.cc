// This device's own keys: the identity key pair and registration id, the
// signed prekeys (rotated, the newest kSignedPreKeysKept kept) and the
// one-time prekeys handed out in bundles.

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/engine_impl.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {

using engine_internal::kMaxKeyId;
using engine_internal::NextKeyId;
using engine_internal::ToString;
using engine_internal::Transaction;
using storage::Space;

absl::StatusOr<SignedPreKeyData> Engine::Impl::ToData(const session_signed_pre_key* spk) {
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

absl::StatusOr<std::vector<uint32_t>> Engine::Impl::SignedPreKeyIds() {
  SOTTO_ASSIGN_OR_RETURN(auto raw, bridge.Get(Space::kMeta, StoreBridge::kSignedPreKeyIds));
  std::vector<uint32_t> ids;
  if (!raw.has_value()) return ids;
  if (raw->size() % 4 != 0) return absl::DataLossError("signed prekey id list is damaged");
  for (size_t i = 0; i < raw->size(); i += 4) {
    ids.push_back(StoreBridge::ReadU32(absl::string_view(*raw).substr(i, 4)));
  }
  return ids;
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

absl::StatusOr<std::string> Engine::SignWithIdentity(absl::string_view message) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  constexpr absl::string_view kWhat = "signing with the identity key";
  ratchet_identity_key_pair* raw_pair = nullptr;
  int rc = signal_protocol_identity_get_key_pair(impl_->store_context.get(), &raw_pair);
  SignalPtr<ratchet_identity_key_pair> pair = Adopt(raw_pair);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  signal_buffer* raw_signature = nullptr;
  rc = curve_calculate_signature(impl_->context.get(), &raw_signature,
                                 ratchet_identity_key_pair_get_private(pair.get()),
                                 reinterpret_cast<const uint8_t*>(message.data()), message.size());
  SignalPtr<signal_buffer> signature = Adopt(raw_signature);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  return ToString(signature.get());
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

}  // namespace sotto::client::signal
