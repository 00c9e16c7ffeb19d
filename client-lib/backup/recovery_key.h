#ifndef SOTTO_CLIENT_LIB_BACKUP_RECOVERY_KEY_H_
#define SOTTO_CLIENT_LIB_BACKUP_RECOVERY_KEY_H_

// The recovery key of a backup (docs/BACKUP.md): 40 decimal digits, made by
// the device, shown once as ten groups of four, never stored. 40 digits are
// 132.9 bits, more than the 128 the key is meant to give; digits because
// people copy them onto paper and type them back without ambiguity (no
// word list to ship and translate, no 0/O or 1/l).
//
// Because the key is random and that long, guessing it is out of reach
// whatever the KDF costs: the backup key is derived with one keyed BLAKE2b
// (libsodium crypto_generichash_blake2b_salt_personal, with the file's
// random 16-byte salt), not a memory-hard KDF. Argon2id is for passphrases
// people choose; stretching 133 random bits adds nothing but time.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/storage/store_header.h"

namespace sotto::client::backup {

inline constexpr size_t kRecoveryKeyDigits = 40;
inline constexpr size_t kSaltBytes = 16;

// A fresh key, "1234 5678 ..." (ten groups of four digits).
std::string NewRecoveryKey();

// The 40 digits of a key as typed: spaces, dashes and line breaks are
// ignored. INVALID_ARGUMENT saying how many digits were found, or naming a
// character that is not a digit.
absl::StatusOr<std::string> NormalizeRecoveryKey(absl::string_view typed);

// The file key: BLAKE2b-256 of the 40 digits, salted with `salt`
// (kSaltBytes), personalisation "sotto-backup-v1" (NUL-padded to 16 bytes).
void DeriveBackupKey(absl::string_view digits, absl::string_view salt,
                     const storage::SecretKey& out);

// The X25519 key pair a recovery key stands for, so that automatic backups
// are sealed to the public half without the key being stored
// (docs/BACKUP.md, "Automatic backups"): the secret key is BLAKE2b-256 of
// the 40 digits, personalisation "sotto-autobak-kp" (no salt).
void RecoverySecretKey(absl::string_view digits, const storage::SecretKey& out);
// Its public key, 32 bytes.
std::string RecoveryPublicKey(absl::string_view digits);

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_RECOVERY_KEY_H_
