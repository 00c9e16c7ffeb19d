#ifndef SOTTO_CLIENT_LIB_BACKUP_BACKUP_FILE_H_
#define SOTTO_CLIENT_LIB_BACKUP_BACKUP_FILE_H_

// A backup file on disk (docs/BACKUP.md, "The backup file on disk"): created
// owner-only under a temporary name beside the target, synced, then given
// its name without ever replacing a file, so that the name exists only
// complete. The rows come from a snapshot of the store taken under the
// profile's lock; the lock is released while the file is written, so that
// sending and receiving go on meanwhile (Lock and DeleteAccount wait).

#include <string>

#include "absl/status/statusor.h"
#include "client-lib/backup/backup_stream.h"
#include "client-lib/backup/profile_backup.h"
#include "client-lib/profile/profile_session.h"

namespace sotto::client::backup {

// Writes the backup of `session`'s profile to `out`, sealed under `key`.
// ALREADY_EXISTS if `out` exists (before anything is written, or if it
// appeared meanwhile); FAILED_PRECONDITION if the profile is locked (this
// does not count as use: callers acting for the user call Check first); INTERNAL
// naming the path for a file system error. On any error `out` is not
// created and the temporary file is removed. Thread-safe (takes
// session.mu only to snapshot the store).
absl::StatusOr<BackupProgress> WriteBackupFile(ProfileSession& session, const std::string& out,
                                               const StreamKey& key, const ProgressFn& progress)
    ABSL_LOCKS_EXCLUDED(session.mu);

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_BACKUP_FILE_H_
