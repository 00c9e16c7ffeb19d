#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_INVITE_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_INVITE_H_

/// @file
/// The invite code a therapist hands a client (Client::CreateInvite), and
/// what the client's side can tell from it before using it.
///
/// An invite is the server's one-time code (12 characters, XXXX-XXXX-XXXX)
/// followed by the therapist's key fingerprint (16 characters of the same
/// alphabet, 80 bits): 28 characters, shown as seven groups of four,
///   3HWD-Q8PN-VX2K-7RCM-D4TA-KQ2E-9WXF
/// The fingerprint commits to the therapist's identity key. It never goes to
/// the server: the client keeps it and checks the first key the server hands
/// out for the therapist against it, so a breached server cannot put its own
/// key in the therapist's place at first contact (docs/PROTOCOL.md, "Invite
/// codes", defines it; docs/SECURITY.md says what it protects).
///
/// A 12-character code alone (made by an older client, or typed without its
/// tail) still works, with trust on first use: the therapist is not verified
/// until the two compare safety numbers.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/export.h"

namespace sotto {

/// A parsed invite code (ParseInviteCode).
struct InviteCode {
  /// The server's part, normalised (12 characters, upper case, no dashes).
  std::string server_code;
  /// The 10-byte key commitment; empty for a code without one.
  std::string key_commitment;
  /// True for a 28-character code.
  bool has_key_commitment() const { return !key_commitment.empty(); }
};

/// Reads a code as typed: case, dashes and spaces do not matter.
/// INVALID_ARGUMENT, naming the problem, for a character outside the code
/// alphabet (23456789 and A-Z without I and O) or a length other than 12 or
/// 28 characters.
SOTTO_EXPORT absl::StatusOr<InviteCode> ParseInviteCode(absl::string_view typed);

/// The 28-character form (groups of four), or the 12-character one without a
/// commitment.
SOTTO_EXPORT std::string FormatInviteCode(const InviteCode& code);

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_INVITE_H_
