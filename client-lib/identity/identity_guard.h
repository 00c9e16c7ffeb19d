#ifndef SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_
#define SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_

// Contacts' identity keys: what happens when one changes (accepted with a
// notice, or held until the user compares safety numbers), and the safety
// number calls of the public API. Local only: nothing here goes to the
// network.

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/types.h"

namespace sotto::client {

// After the engine refused `peer`'s identity key (FAILED_PRECONDITION
// `refusal`): accepts an unverified contact's changed key (true: retry),
// or says why it is held (the error). Other refusals come back as they are.
absl::StatusOr<bool> ResolveIdentityChange(ProfileSession& session, absl::string_view peer,
                                           const absl::Status& refusal,
                                           std::vector<IdentityNotice>& notices)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

absl::StatusOr<SafetyNumberInfo> GetSafetyNumber(ProfileSession& session, absl::string_view peer)
    ABSL_LOCKS_EXCLUDED(session.mu);
absl::Status MarkVerified(ProfileSession& session, absl::string_view peer)
    ABSL_LOCKS_EXCLUDED(session.mu);
absl::Status AcceptIdentityChange(ProfileSession& session, absl::string_view peer)
    ABSL_LOCKS_EXCLUDED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_
