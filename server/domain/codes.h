#ifndef SOTTO_SERVER_DOMAIN_CODES_H_
#define SOTTO_SERVER_DOMAIN_CODES_H_

// One-time codes people type: operator enrolment codes and therapist invite
// codes. 12 characters from a 32-letter alphabet without look-alikes (no 0, 1,
// I, O), i.e. 60 random bits, shown as "K7QF-2M9X-TR4C". The server keeps only
// SHA-256 of the normalised code: with 60 random bits a stolen hash cannot be
// brute-forced back within a code's lifetime, so no salt is needed, and the
// hash doubles as the lookup key.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::server {

// A fresh random code, formatted with dashes. UNAVAILABLE if the system RNG
// fails.
absl::StatusOr<std::string> GenerateCode();

// Upper-cases and drops dashes and spaces; nullopt unless the result is
// exactly kCodeChars characters of the code alphabet.
std::optional<std::string> NormalizeCode(absl::string_view code);

// SHA-256 of a normalised code (32 bytes): the stored form.
std::string HashCode(absl::string_view normalized_code);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CODES_H_
