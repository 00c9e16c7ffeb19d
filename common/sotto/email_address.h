#ifndef SOTTO_COMMON_EMAIL_ADDRESS_H_
#define SOTTO_COMMON_EMAIL_ADDRESS_H_

// The one check an email address passes before the server stores it or
// writes it into a mail header (notifications, issue 20), and the client
// before sending it. Deliberately
// narrower than RFC 5321: what a person types for a mailbox, and nothing
// that could end a header line or start another (CR, LF, any control
// character), so `To: <address>` can never carry an injected header.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sotto {

// RFC 5321's limit on a forward path, and on a local part.
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMaxEmailLocalBytes = 64;

// OK if `address` is printable ASCII without spaces, at most kMaxEmailBytes,
// of the shape local@domain: exactly one '@'; a local part of 1..64 bytes of
// letters, digits and !#$%&'*+-/=?^_`{|}~. (not starting or ending with a
// dot, no two dots in a row); a domain of at least two dot-separated labels
// of 1..63 letters, digits and hyphens, not starting or ending with a hyphen.
// Else INVALID_ARGUMENT naming `field` and what is wrong (never echoing the
// address, which may not be logged).
absl::Status ValidateEmailAddress(absl::string_view address, absl::string_view field = "email");

}  // namespace sotto

#endif  // SOTTO_COMMON_EMAIL_ADDRESS_H_
