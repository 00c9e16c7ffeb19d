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
#include "client-lib/backup/backup_stream.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/backup.h"
#include "sotto/local_store.h"

namespace sotto::client::backup {

using ProgressFn = std::function<void(const BackupProgress&)>;

// Writes the backup of the store `snapshot` views (taken under the
// profile's lock; read without it) to `file`, sealed under `key`
// (backup_stream.h).
absl::StatusOr<BackupProgress> WriteBackup(storage::StoreSnapshot& snapshot,
                                           const std::string& handle, FILE* file,
                                           const StreamKey& key, const ProgressFn& progress);

// Reads and checks the whole file at `path` without writing anything, then
// creates a new encrypted store under `passphrase` in a staging directory
// beside `dir` (`DIR.restoring-<12 hex>`), writes the backup into it
// (reading and checking the file again), and renames it to `dir` once
// complete. On any error, and after a crash or kill at any point, `dir`
// holds no profile; the next restore into `dir` removes staging directories
// a killed one left. Errors name the file and what is wrong
// (backup_stream.h); ALREADY_EXISTS if `dir` holds a store,
// FAILED_PRECONDITION if it is something else than a missing or empty
// directory.
absl::StatusOr<uint64_t> RestoreBackup(const std::string& path, const StreamKey& key,
                                       const std::string& dir, const std::string& passphrase,
                                       bool fast_kdf, const ProgressFn& progress);

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_PROFILE_BACKUP_H_
