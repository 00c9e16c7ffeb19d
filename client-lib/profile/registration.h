#ifndef SOTTO_CLIENT_LIB_PROFILE_REGISTRATION_H_
#define SOTTO_CLIENT_LIB_PROFILE_REGISTRATION_H_

// Making a profile (keys, then the server, then the profile record) and
// opening one from its store.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/transport/connection.h"
#include "sotto/client.h"
#include "sotto/client/records.pb.h"
#include "sotto/local_store.h"

namespace sotto::client {

// The profile record in kMeta; nullopt when the store holds none.
absl::StatusOr<std::optional<Profile>> LoadProfile(storage::LocalStore& store);
storage::Write ProfileWrite(const Profile& profile);

transport::TlsConfig TlsOf(const Profile& profile);

// A CRL given by the app: it must parse, and it means something only with
// TLS. Checked before anything is created, stretched or sent.
absl::Status ValidateCrl(absl::string_view crl_pem, bool tls);

// Checks made before anything is created or sent: the handle, the code the
// role needs, the server address (loopback without TLS), the CRL.
absl::Status ValidateRegistration(const RegisterOptions& options);

// The encrypted store of a new profile in `dir` (Register, JoinWithLinkCode):
// ALREADY_EXISTS naming the directory if a profile is there, else the
// store, its key stretched from `passphrase` as `key_derivation` says.
absl::StatusOr<std::unique_ptr<storage::LocalStore>> NewProfileStore(
    const std::string& dir, const std::string& passphrase, KeyDerivation key_derivation);

// Registration: keys first (locally), then the server, then the profile.
// `server_accepted` is set once the server has registered the handle: from
// then on the keys in `store` are the only ones that match the account.
absl::StatusOr<std::unique_ptr<ProfileSession>> RegisterProfile(
    const RegisterOptions& options, std::unique_ptr<storage::LocalStore> store,
    bool& server_accepted);

// `tls` overrides the profile's CA / system roots (for this session) when
// enabled; its crl_pem, if any, is merged into the profile's CRLs and
// stored (the newest list per issuer wins). Does not contact the server.
absl::StatusOr<std::unique_ptr<ProfileSession>> OpenProfile(
    std::unique_ptr<storage::LocalStore> store, std::string server_address,
    const transport::TlsConfig& tls, std::shared_ptr<const Clock> clock);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_PROFILE_REGISTRATION_H_
