#include "client-lib/keys/key_maintenance.h"

#include "sotto/status_macros.h"

namespace sotto::client {

void FillSignedPreKey(const signal::SignedPreKeyData& in, v1::SignedPreKey* out) {
  out->set_id(in.id);
  out->set_public_key(in.public_key);
  out->set_signature(in.signature);
}

void FillPreKeys(const std::vector<signal::OneTimePreKeyData>& in, v1::DeviceKeys* out) {
  for (const auto& prekey : in) {
    v1::OneTimePreKey* key = out->add_one_time_prekeys();
    key->set_id(prekey.id);
    key->set_public_key(prekey.public_key);
  }
}

absl::Status MaintainKeys(ProfileSession& session) {
  SOTTO_ASSIGN_OR_RETURN(v1::CountPreKeysResponse count, session.connection().CountPreKeys());
  v1::UploadKeysRequest upload;
  {
    absl::MutexLock lock(&session.mu);
    SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
    signal::Engine& engine = session.engine();
    if (count.one_time_prekey_count() < kPreKeyRefillBelow) {
      SOTTO_ASSIGN_OR_RETURN(auto prekeys,
                             engine.GeneratePreKeys(kPreKeyStock - count.one_time_prekey_count()));
      FillPreKeys(prekeys, upload.mutable_keys());
    }
    SOTTO_ASSIGN_OR_RETURN(auto current, engine.CurrentSignedPreKey());
    if (absl::FromUnixMillis(current.created_ms) + kSignedPreKeyLifetime < session.Now()) {
      SOTTO_ASSIGN_OR_RETURN(auto fresh, engine.RotateSignedPreKey(session.NowMs()));
      FillSignedPreKey(fresh, upload.mutable_keys()->mutable_signed_prekey());
    }
  }
  if (!upload.has_keys()) return absl::OkStatus();
  return session.connection().UploadKeys(upload).status();
}

}  // namespace sotto::client
