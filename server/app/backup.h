#ifndef SOTTO_SERVER_APP_BACKUP_H_
#define SOTTO_SERVER_APP_BACKUP_H_

// Backups of a data directory, taken while the server serves (issue 20).
//
// A backup is a directory of its own:
//   DIR/db/...         a RocksDB checkpoint of the whole database: a
//                      point-in-time copy that holds every write that
//                      returned before the backup started, so every Send
//                      acknowledged by then (an acknowledgement waits for
//                      the write and its log sync)
//   DIR/audit-key      copies of the key files (key_files.h); without the
//   DIR/code-pepper    first the audit chain cannot be verified, without the
//                      second stored invite and enrolment codes stop matching
//   DIR/SOTTO-BACKUP   the manifest: every file's size and SHA-256, written
//                      last, so a backup cut short has none and is refused
// DIR is made 0700 and the key copies 0600: a backup holds the keys.
//
// Why a checkpoint and not RocksDB's BackupEngine: the checkpoint is taken
// by the process that holds the database (the server, or the command when
// none runs) into the data directory, where it costs hard links and a
// memtable flush, not a copy, and holds up no writer; the copy out of it is
// then made by the operator's command, which, unlike a sandboxed server
// (ProtectSystem=strict), may write wherever the operator says. The copy is
// a plain database: restoring is copying files back, and a backup can be
// opened read-only to look at. BackupEngine's incremental backups would
// save space between backups; we keep full, independent copies (each
// backup can be moved, verified and restored alone) and check them with
// our own manifest.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/app/key_files.h"

namespace sotto::server {

inline constexpr char kBackupManifestName[] = "SOTTO-BACKUP";

// A fresh path inside `data_dir` for Store::Checkpoint to create:
// DATA_DIR/checkpoint-<unix ms>. On the database's filesystem, so the
// checkpoint links rather than copies; removed by WriteBackup.
std::string NewCheckpointDir(const std::string& data_dir);

struct BackupSummary {
  uint64_t files = 0;
  uint64_t bytes = 0;  // all files, key copies included
  bool audit_key = false;
  bool code_pepper = false;
};

// Copies the checkpoint in `checkpoint_dir` and the key files `keys`
// (resolved paths; a missing one is left out: the server creates each only
// when first needed) into the backup directory `to`, which must not exist
// or be empty, writing the manifest last and syncing everything; then
// removes `checkpoint_dir`, also on failure. Errors: FAILED_PRECONDITION
// (`to` is not empty), I/O errors naming the file.
absl::StatusOr<BackupSummary> WriteBackup(const std::string& checkpoint_dir,
                                          const KeyFilePaths& keys, const std::string& to);

// Checks the backup in `dir` against its manifest: every file present,
// with its size and SHA-256. Errors: FAILED_PRECONDITION (no manifest: not
// a backup, or one cut short), DATA_LOSS naming the first file missing or
// changed.
absl::StatusOr<BackupSummary> VerifyBackup(const std::string& dir);

// Verifies the backup in `from` (VerifyBackup), copies its database into
// `data_dir` (created 0700; it must not exist or be empty) and its key
// files to `keys` (resolved for `data_dir`; an existing key file there must
// hold the same key), then opens the copy read-only, which checks its
// schema version, and verifies its audit chain with the restored key. On
// any failure after the copy started, what was copied is removed again.
// Errors: those of VerifyBackup; FAILED_PRECONDITION (`data_dir` not
// empty, a different key file in the way, a newer schema); DATA_LOSS (the
// audit chain does not verify); I/O errors naming the file.
absl::StatusOr<BackupSummary> RestoreBackup(const std::string& from, const std::string& data_dir,
                                            const KeyFilePaths& keys);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_BACKUP_H_
