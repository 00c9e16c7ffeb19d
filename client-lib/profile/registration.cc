#include "client-lib/profile/registration.h"

#include <openssl/rand.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/history/history_book.h"
#include "client-lib/keys/key_maintenance.h"
#include "client-lib/profile/handle.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/transport/address_policy.h"
#include "client-lib/transport/crl.h"
#include "sotto/invite.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using storage::Space;
using storage::Write;

constexpr char kProfileKey[] = "profile";

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all; there is
  // nothing sensible to do but stop.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

// The codes the server requires for each role; checked before any key is
// made, with the CLI's flag named.
absl::Status ValidateRegistrationCodes(const RegisterOptions& options) {
  if (options.role == Role::kTherapist && options.enrolment_code.empty()) {
    return absl::InvalidArgumentError("a therapist needs an enrolment code (--enrol)");
  }
  if (options.role == Role::kClient && options.invite_code.empty()) {
    return absl::InvalidArgumentError("a client needs an invite code (--invite)");
  }
  if (options.role == Role::kClient) return ParseInviteCode(options.invite_code).status();
  return absl::OkStatus();
}

// The request that registers `profile`'s handle with this device's keys.
absl::StatusOr<v1::RegisterRequest> RegistrationRequest(const RegisterOptions& options,
                                                        const Profile& profile,
                                                        signal::Engine& engine, int64_t now_ms) {
  SOTTO_RETURN_IF_ERROR(engine.CreateIdentity());
  SOTTO_ASSIGN_OR_RETURN(auto signed_prekey, engine.RotateSignedPreKey(now_ms));
  SOTTO_ASSIGN_OR_RETURN(auto prekeys, engine.GeneratePreKeys(kPreKeyStock));
  SOTTO_ASSIGN_OR_RETURN(uint32_t registration_id, engine.RegistrationId());
  SOTTO_ASSIGN_OR_RETURN(std::string identity_key, engine.IdentityPublicKey());
  v1::RegisterRequest request;
  request.set_handle(options.handle);
  request.set_role(options.role == Role::kTherapist ? v1::ROLE_THERAPIST : v1::ROLE_CLIENT);
  request.set_device_secret(profile.device_secret());
  request.set_registration_id(registration_id);
  request.set_enrolment_code(options.enrolment_code);
  if (options.role == Role::kClient) {
    // The key commitment stays here: the server gets only its own code.
    SOTTO_ASSIGN_OR_RETURN(InviteCode invite, ParseInviteCode(options.invite_code));
    request.set_invite_code(invite.server_code);
  }
  v1::DeviceKeys* keys = request.mutable_keys();
  keys->set_identity_key(identity_key);
  FillSignedPreKey(signed_prekey, keys->mutable_signed_prekey());
  FillPreKeys(prekeys, keys);
  return request;
}

// A client whose invite carried the therapist's key commitment: from now on
// only that key is trusted for the therapist (signal::Engine::ExpectIdentity).
absl::Status ExpectInvitedTherapist(const RegisterOptions& options,
                                    const v1::RegisterResponse& response, signal::Engine& engine) {
  if (options.role != Role::kClient) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(InviteCode invite, ParseInviteCode(options.invite_code));
  if (!invite.has_key_commitment() || response.linked_therapist().empty()) {
    return absl::OkStatus();
  }
  return engine.ExpectIdentity(response.linked_therapist(), invite.server_code,
                               invite.key_commitment);
}

}  // namespace

absl::Status ValidateHandle(absl::string_view handle) {
  bool ok = handle.size() >= 3 && handle.size() <= 32 && handle[0] >= 'a' && handle[0] <= 'z';
  for (char c : handle) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("handle '", handle,
                     "' is invalid: use 3 to 32 of a-z, 0-9, '_' and '-', starting with a letter"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Profile>> LoadProfile(storage::LocalStore& store) {
  return history::LoadProto<Profile>(store, Space::kMeta, kProfileKey);
}

Write ProfileWrite(const Profile& profile) {
  return Write{Space::kMeta, kProfileKey, profile.SerializeAsString()};
}

transport::TlsConfig TlsOf(const Profile& profile) {
  return transport::TlsConfig{profile.tls_ca_pem(), profile.tls_system_roots(),
                              profile.tls_crl_pem()};
}

absl::Status ValidateCrl(absl::string_view crl_pem, bool tls) {
  if (crl_pem.empty()) return absl::OkStatus();
  if (!tls) {
    return absl::InvalidArgumentError(
        "tls_crl_pem: a certificate revocation list needs TLS (a CA certificate or the "
        "system roots)");
  }
  absl::StatusOr<std::vector<transport::CrlInfo>> crls = transport::ParseCrls(crl_pem);
  if (!crls.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tls_crl_pem: ", crls.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<storage::LocalStore>> NewProfileStore(
    const std::string& dir, const std::string& passphrase, KeyDerivation key_derivation) {
  if (storage::EncryptedStoreExists(dir)) {
    return absl::AlreadyExistsError(absl::StrCat("a profile already exists in ", dir));
  }
  const storage::KdfLimits limits = key_derivation == KeyDerivation::kFastForTestsOnly
                                        ? storage::KdfLimits::ForTesting()
                                        : storage::KdfLimits::Interactive();
  return storage::CreateEncryptedStore(dir, passphrase, limits);
}

absl::Status ValidateRegistration(const RegisterOptions& options) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(options.handle));
  SOTTO_RETURN_IF_ERROR(ValidateRegistrationCodes(options));
  if (options.server_address.empty()) {
    return absl::InvalidArgumentError("a server address (host:port) is required");
  }
  const transport::TlsConfig tls{options.tls_ca_pem, options.tls_system_roots, options.tls_crl_pem};
  SOTTO_RETURN_IF_ERROR(ValidateCrl(options.tls_crl_pem, tls.enabled()));
  return transport::CheckServerAddress(options.server_address, tls.enabled());
}

absl::StatusOr<std::unique_ptr<ProfileSession>> RegisterProfile(
    const RegisterOptions& options, std::unique_ptr<storage::LocalStore> store,
    bool& server_accepted) {
  server_accepted = false;
  SOTTO_RETURN_IF_ERROR(ValidateRegistration(options));
  SOTTO_ASSIGN_OR_RETURN(auto existing, store->Get(Space::kMeta, kProfileKey));
  if (existing) {
    return absl::AlreadyExistsError("this store already holds a profile; open it instead");
  }
  std::shared_ptr<const Clock> clock =
      options.clock ? options.clock : std::make_shared<SystemClock>();
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<signal::Engine> engine, signal::Engine::Open(store.get()));
  Profile profile;
  profile.set_handle(options.handle);
  profile.set_role(static_cast<int>(options.role));
  profile.set_server_address(options.server_address);
  profile.set_device_secret(RandomBytes(32));
  profile.set_tls_ca_pem(options.tls_ca_pem);
  profile.set_tls_system_roots(options.tls_system_roots);
  profile.set_tls_crl_pem(options.tls_crl_pem);
  SOTTO_ASSIGN_OR_RETURN(
      v1::RegisterRequest request,
      RegistrationRequest(options, profile, *engine, absl::ToUnixMillis(clock->Now())));

  transport::Connection connection(options.server_address, TlsOf(profile));
  SOTTO_ASSIGN_OR_RETURN(v1::RegisterResponse response, connection.Register(request));
  server_accepted = true;
  profile.set_device_id(response.device_id());
  if (absl::Status saved = store->Apply(
          {ProfileWrite(profile), Write{Space::kMeta, history::kMessageIndexReadyKey, "1"}});
      !saved.ok()) {
    // Retrying cannot help (the handle is taken now) and deleting the store
    // would throw away the only keys that match the account; say so.
    return absl::Status(
        saved.code() == absl::StatusCode::kAlreadyExists ? absl::StatusCode::kInternal
                                                         : saved.code(),
        absl::StrCat("the server registered '", options.handle, "' (device ", response.device_id(),
                     ") but saving the profile locally failed: ", saved.message(),
                     ". The handle is now taken on the server; the keys were kept in the "
                     "local store, which holds no profile yet"));
  }
  if (absl::Status expected = ExpectInvitedTherapist(options, response, *engine); !expected.ok()) {
    return absl::Status(expected.code(),
                        absl::StrCat("the server registered '", options.handle,
                                     "' but keeping the invite's key "
                                     "fingerprint for ",
                                     response.linked_therapist(), " failed: ", expected.message()));
  }
  const transport::TlsConfig tls = TlsOf(profile);
  return std::make_unique<ProfileSession>(std::move(store), std::move(engine), std::move(profile),
                                          options.server_address, tls, std::move(clock));
}

absl::StatusOr<std::unique_ptr<ProfileSession>> OpenProfile(
    std::unique_ptr<storage::LocalStore> store, std::string server_address,
    const transport::TlsConfig& tls, std::shared_ptr<const Clock> clock) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<Profile> profile, LoadProfile(*store));
  if (!profile) return absl::NotFoundError("the store holds no Sotto profile");
  if (server_address.empty()) server_address = profile->server_address();
  transport::TlsConfig effective = tls.enabled() ? tls : TlsOf(*profile);
  SOTTO_RETURN_IF_ERROR(ValidateCrl(tls.crl_pem, effective.enabled()));
  if (!tls.crl_pem.empty()) {
    SOTTO_ASSIGN_OR_RETURN(std::string merged,
                           transport::MergeCrls(profile->tls_crl_pem(), tls.crl_pem));
    if (merged != profile->tls_crl_pem()) {
      profile->set_tls_crl_pem(merged);
      SOTTO_RETURN_IF_ERROR(store->Apply({ProfileWrite(*profile)}));
    }
  }
  effective.crl_pem = profile->tls_crl_pem();
  SOTTO_RETURN_IF_ERROR(transport::CheckServerAddress(server_address, effective.enabled()));
  SOTTO_RETURN_IF_ERROR(history::BuildMessageIndex(*store));
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<signal::Engine> engine, signal::Engine::Open(store.get()));
  return std::make_unique<ProfileSession>(std::move(store), std::move(engine), std::move(*profile),
                                          std::move(server_address), effective, std::move(clock));
}

}  // namespace sotto::client
