#ifndef SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_COMMITMENT_H_
#define SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_COMMITMENT_H_

// The commitment to a therapist's identity key that an invite carries, so
// that a client can check the first key the server hands out for the
// therapist against something the server never had a say in (the invite is
// passed from therapist to client out of band). docs/PROTOCOL.md, "Invite
// codes", is the normative description; this is its one implementation.
//
//   commitment = SHA-256("sotto-invite-key-v1" 0x00 salt 0x00 handle 0x00 key)[0..10)
//
// `salt` is the invite's normalised server code (12 characters), so the
// commitment differs per invite: a breached server cannot grind one key
// against every invite of a therapist, nor start before the invite exists.
// `handle` binds the key to the person the server says the invite is from.
// 80 bits: finding a second key pair whose commitment matches is a targeted
// second preimage, ~2^80 key generations and hashes (see SECURITY.md).

#include <string>

#include "absl/strings/string_view.h"

namespace sotto::client::signal {

inline constexpr size_t kCommitmentBytes = 10;

// kCommitmentBytes bytes.
std::string IdentityCommitment(absl::string_view salt, absl::string_view handle,
                               absl::string_view identity_key);

// The record kept per committed contact (Space::kExpectedIdentity): the salt
// followed by the commitment. MatchesCommitmentRecord is false for a record
// too short to hold both (a damaged record trusts nothing).
std::string CommitmentRecord(absl::string_view salt, absl::string_view commitment);
bool MatchesCommitmentRecord(absl::string_view record, absl::string_view handle,
                             absl::string_view identity_key);

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_COMMITMENT_H_
