#ifndef SOTTO_CLIENT_LIB_BACKUP_PROFILE_BACKUP_H_
#define SOTTO_CLIENT_LIB_BACKUP_PROFILE_BACKUP_H_

// A profile's local store into a backup stream, and back into a new store.
//
// What goes in: every row of every Space, and the store's data key, EXCEPT
// kSession (the Signal sessions). A session restored from a backup is
// older than the one the lost device went on with: sending with it would
// reuse message keys the old device already used (the same key for two
// different plaintexts) or be refused by the peer as a replay. So a restored
// device starts new sessions instead (client_backup.cc). Identity key,
// registration id, trusted and verified identities stay, so contacts see
// the same identity and no "changed key" notice. One-time and signed prekeys
// DO go in: a contact who starts a session from the key directory with a key
// published before the backup still reaches the restored device; their
// private keys add nothing for someone who has the backup and its key, who
// holds the identity key and the history already.
// The data key goes in because every handle and message id in the store's
// keys is blinded under a key derived from it (LocalStore::Blind): keeping
// it keeps every row where it was; the restored store wraps it under the new
// passphrase.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sotto/backup.h"
#include "sotto/local_store.h"

namespace sotto::client::backup {

using ProgressFn = std::function<void(const BackupProgress&)>;

// Writes the backup of `store` (the profile's lock held by the caller) to
// `file`, sealed under the normalized recovery key `digits`.
absl::StatusOr<BackupProgress> WriteBackup(storage::LocalStore& store, const std::string& handle,
                                           FILE* file, const std::string& digits,
                                           const ProgressFn& progress);

// Reads and checks the whole file at `path` without writing anything, then
// creates a new encrypted store in `dir` under `passphrase` and writes the
// backup into it (reading and checking the file again). On any error
// nothing is left in `dir` (a store made by the second pass is destroyed).
// Errors name the file and what is wrong (backup_stream.h); ALREADY_EXISTS
// if `dir` holds a store.
absl::StatusOr<uint64_t> RestoreBackup(const std::string& path, const std::string& digits,
                                       const std::string& dir, const std::string& passphrase,
                                       bool fast_kdf, const ProgressFn& progress);

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_PROFILE_BACKUP_H_
