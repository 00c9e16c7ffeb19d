#include "client-lib/session_setup.h"

#include <string>

#include "sotto/status_macros.h"

namespace sotto::client {

signal::Bundle ToBundle(const v1::PreKeyBundle& in) {
  signal::Bundle bundle;
  bundle.device_id = in.device_id();
  bundle.registration_id = in.registration_id();
  bundle.identity_key = in.identity_key();
  bundle.signed_prekey_id = in.signed_prekey().id();
  bundle.signed_prekey_public = in.signed_prekey().public_key();
  bundle.signed_prekey_signature = in.signed_prekey().signature();
  if (in.has_one_time_prekey()) {
    bundle.one_time_prekey =
        signal::OneTimePreKeyData{in.one_time_prekey().id(), in.one_time_prekey().public_key()};
  }
  return bundle;
}

absl::Status StartSessions(signal::Engine& engine, absl::string_view to, const FetchBundles& fetch,
                           const absl::btree_set<uint32_t>& only) {
  SOTTO_ASSIGN_OR_RETURN(v1::GetBundleResponse bundles, fetch());
  for (const v1::PreKeyBundle& in : bundles.devices()) {
    if (!only.empty() && !only.contains(in.device_id())) continue;
    SOTTO_RETURN_IF_ERROR(
        engine.ProcessBundle(signal::Address{std::string(to), in.device_id()}, ToBundle(in)));
  }
  return absl::OkStatus();
}

absl::Status RepairSessions(signal::Engine& engine, absl::string_view to,
                            const v1::DeviceMismatch& mismatch, const FetchBundles& fetch) {
  absl::btree_set<uint32_t> wanted;
  for (uint32_t device : mismatch.extra_devices()) {
    SOTTO_RETURN_IF_ERROR(engine.DeleteSession(signal::Address{std::string(to), device}));
  }
  for (uint32_t device : mismatch.stale_devices()) {
    SOTTO_RETURN_IF_ERROR(engine.DeleteSession(signal::Address{std::string(to), device}));
    wanted.insert(device);
  }
  for (uint32_t device : mismatch.missing_devices()) wanted.insert(device);
  if (wanted.empty()) return absl::OkStatus();
  return StartSessions(engine, to, fetch, wanted);
}

}  // namespace sotto::client
