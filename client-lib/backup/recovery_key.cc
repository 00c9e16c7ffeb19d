#include "client-lib/backup/recovery_key.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sotto::client::backup {

std::string NewRecoveryKey() {
  if (sodium_init() < 0) std::abort();
  std::string out;
  for (size_t i = 0; i < kRecoveryKeyDigits; ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(static_cast<char>('0' + randombytes_uniform(10)));  // uniform, no modulo bias
  }
  return out;
}

absl::StatusOr<std::string> NormalizeRecoveryKey(absl::string_view typed) {
  std::string digits;
  for (char c : typed) {
    if (c == ' ' || c == '-' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          "the recovery key is made of digits only; it contains another character");
    }
    digits.push_back(c);
  }
  if (digits.size() != kRecoveryKeyDigits) {
    const size_t n = digits.size();
    sodium_memzero(digits.data(), digits.size());
    return absl::InvalidArgumentError(
        absl::StrCat("a recovery key has ", kRecoveryKeyDigits, " digits; the one given has ", n));
  }
  return digits;
}

void DeriveBackupKey(absl::string_view digits, absl::string_view salt,
                     const storage::SecretKey& out) {
  unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] = {0};
  static constexpr char kPersonal[] = "sotto-backup-v1";
  static_assert(sizeof kPersonal <= sizeof personal);
  std::memcpy(personal, kPersonal, sizeof kPersonal - 1);
  crypto_generichash_blake2b_salt_personal(
      out.data(), storage::kKeyBytes, reinterpret_cast<const unsigned char*>(digits.data()),
      digits.size(), nullptr, 0, reinterpret_cast<const unsigned char*>(salt.data()), personal);
}

void RecoverySecretKey(absl::string_view digits, const storage::SecretKey& out) {
  unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] = {0};
  static constexpr char kPersonal[] = "sotto-autobak-kp";
  static_assert(sizeof kPersonal - 1 <= sizeof personal);
  std::memcpy(personal, kPersonal, sizeof kPersonal - 1);
  crypto_generichash_blake2b_salt_personal(
      out.data(), storage::kKeyBytes, reinterpret_cast<const unsigned char*>(digits.data()),
      digits.size(), nullptr, 0, nullptr, personal);
}

std::string RecoveryPublicKey(absl::string_view digits) {
  storage::SecretKey secret;
  RecoverySecretKey(digits, secret);
  std::string out(crypto_scalarmult_BYTES, '\0');
  crypto_scalarmult_base(reinterpret_cast<unsigned char*>(out.data()), secret.data());
  return out;
}

}  // namespace sotto::client::backup
