#ifndef SOTTO_SERVER_DOMAIN_CODES_H_
#define SOTTO_SERVER_DOMAIN_CODES_H_

// One-time codes people type: operator enrolment codes and therapist invite
// codes. 12 characters from a 32-letter alphabet without look-alikes (no 0, 1,
// I, O), i.e. 60 random bits, shown as "K7QF-2M9X-TR4C". The server keeps only
// a keyed hash of the normalised code, which doubles as the lookup key:
//   0x01 || HMAC-SHA256(pepper, SHA-256(code))      (33 bytes)
// The pepper is a SecretKey kept in a file outside the database
// (key_files.h). 60 bits are few enough that a plain SHA-256 of every
// possible code can be computed on GPUs within a code's lifetime, so a stolen
// database alone would give up every live code; without the pepper it gives
// up none. Hashing SHA-256(code) rather than the code lets rows stored
// before the pepper (key = SHA-256(code), 32 bytes) be re-keyed in place
// (MigrateLegacyCodeKeys): their codes keep working.

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/secret_key.h"

namespace sotto::server {

// A fresh random code, formatted with dashes. UNAVAILABLE if the system RNG
// fails.
absl::StatusOr<std::string> GenerateCode();

// Upper-cases and drops dashes and spaces; nullopt unless the result is
// exactly kCodeChars characters of the code alphabet.
std::optional<std::string> NormalizeCode(absl::string_view code);

// SHA-256 of a normalised code (32 bytes): the stored form before the
// pepper (kLegacyCodeKeyBytes long), and what the pepper is applied to.
std::string HashCode(absl::string_view normalized_code);

inline constexpr size_t kLegacyCodeKeyBytes = 32;

// The stored form of a normalised code under `pepper` (33 bytes; empty if
// OpenSSL fails, which matches no stored code).
std::string PepperedCodeKey(const SecretKey& pepper, absl::string_view normalized_code);
// The stored form of the code whose legacy key (HashCode) is `legacy_key`.
std::string PepperLegacyCodeKey(const SecretKey& pepper, absl::string_view legacy_key);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CODES_H_
