#ifndef SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_
#define SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_

// Contacts' identity keys: every change is held until the user compares the
// safety number and accepts exactly the key it was shown for; an invite's
// commitment to the therapist's key; and the safety number calls of the
// public API. Local only: nothing here goes to the network.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/invite.h"
#include "sotto/types.h"

namespace sotto::client {

// After the engine refused `peer`'s identity key (FAILED_PRECONDITION
// `refusal`), or when a refused key is pending: the error that says the
// contact is held and how to go on. Nothing is ever accepted here — a
// breached server could otherwise swap in its own key for any contact the
// user had not verified. Other refusals come back as they are; a local
// store failure as itself.
absl::Status HoldIdentityChange(ProfileSession& session, absl::string_view peer,
                                const absl::Status& refusal)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

absl::StatusOr<SafetyNumberInfo> GetSafetyNumber(ProfileSession& session, absl::string_view peer)
    ABSL_LOCKS_EXCLUDED(session.mu);
absl::Status MarkVerified(ProfileSession& session, absl::string_view peer)
    ABSL_LOCKS_EXCLUDED(session.mu);
// Accepts `peer`'s pending key only if `safety_number` (60 digits; spaces
// ignored) is that key's safety number. See Client::AcceptIdentityChange.
absl::Status AcceptIdentityChange(ProfileSession& session, absl::string_view peer,
                                  absl::string_view safety_number) ABSL_LOCKS_EXCLUDED(session.mu);

// The therapist's side of an invite: the server's code with the commitment
// to this device's identity key appended (sotto/invite.h).
absl::StatusOr<std::string> CommitInvite(ProfileSession& session, absl::string_view server_code)
    ABSL_LOCKS_EXCLUDED(session.mu);
// The client's side, once the server said whose invite it was: remembers
// the commitment for `therapist` (nothing for a code without one). See
// signal::Engine::ExpectIdentity for a therapist already known.
absl::Status ExpectInvitedIdentity(ProfileSession& session, absl::string_view therapist,
                                   const InviteCode& invite) ABSL_LOCKS_EXCLUDED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_IDENTITY_IDENTITY_GUARD_H_
