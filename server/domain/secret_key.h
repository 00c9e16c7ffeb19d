#ifndef SOTTO_SERVER_DOMAIN_SECRET_KEY_H_
#define SOTTO_SERVER_DOMAIN_SECRET_KEY_H_

// A 32-byte server secret that never enters the database: the audit
// chain's MAC key and the pepper of stored enrolment and invite codes.
// server/app/key_files.h keeps each in its own 0600 file outside the data
// directory, so that a copy of the database alone can neither forge the
// audit trail nor brute-force a live code.

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::server {

class SecretKey {
 public:
  static constexpr size_t kBytes = 32;

  // 32 bytes from the system RNG. UNAVAILABLE if it fails.
  static absl::StatusOr<SecretKey> Generate();
  // The key made of `bytes`. INVALID_ARGUMENT unless exactly kBytes.
  static absl::StatusOr<SecretKey> FromBytes(absl::string_view bytes);

  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  // Moving copies the bytes and wipes the source.
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  // Wipes the key (OPENSSL_cleanse, which the compiler may not elide).
  ~SecretKey();

  // HMAC-SHA256 under this key of the concatenation of `parts` (32 bytes).
  // Empty if OpenSSL fails, which no stored MAC equals. Thread-safe.
  std::string Mac(std::initializer_list<absl::string_view> parts) const;

  // The key as 64 lower-case hex digits, for writing its file. The caller
  // wipes the result.
  std::string ToHex() const;

 private:
  SecretKey() = default;

  std::array<unsigned char, kBytes> bytes_{};
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_SECRET_KEY_H_
