// sotto-server backup --data-dir DIR --to BACKUP [--audit-key-file F] [--code-pepper-file F]
// sotto-server restore --from BACKUP --data-dir NEW [--audit-key-file F] [--code-pepper-file F]
//
// backup copies the database and its key files into BACKUP (new or empty),
// while the server serves: it asks the running server, through its
// operator socket, for a checkpoint inside the data directory (with no
// server, it takes one itself) and copies that out (server/app/backup.h).
// Every Send acknowledged before the command started is in the backup.
// With --no-keys the key files are left out, for an operator who keeps
// them apart from the data (restore then finds them at their paths).
// Prints "backup in BACKUP: N files, B bytes (keys: ...)".
//
// restore verifies BACKUP against its manifest, copies it into NEW (new or
// empty) and the key files beside it (or to the --*-file paths), opens the
// copy read-only and verifies its audit chain with the restored key.
// Prints "restored BACKUP into NEW: ...". A server is then started on NEW.
// Errors: one line on stderr, exit 1.

#include <iostream>
#include <memory>
#include <string>

#include "server/app/backup.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct BackupOptions {
  std::string data_dir;
  KeyFilePaths keys;
  std::string dir;  // --to, --from
  bool no_keys = false;
};

std::string Describe(const BackupSummary& s) {
  std::string keys;
  if (s.audit_key) keys = "audit key";
  if (s.code_pepper) keys += keys.empty() ? "code pepper" : ", code pepper";
  return std::to_string(s.files) + " files, " + std::to_string(s.bytes) +
         " bytes (keys: " + (keys.empty() ? "none" : keys) + ")";
}

int RunBackup(const BackupOptions& o) {
  absl::StatusOr<TakenCheckpoint> checkpoint =
      OpenOperatorBackend(o.data_dir, o.keys)->Checkpoint();
  if (!checkpoint.ok()) return Fail("backup", checkpoint.status());
  // --no-keys: the operator keeps the keys apart (another volume, a
  // secrets store); a restore then needs them in place first.
  absl::StatusOr<BackupSummary> summary =
      WriteBackup(checkpoint->dir, o.no_keys ? KeyFilePaths{} : checkpoint->keys, o.dir);
  if (!summary.ok()) return Fail("backup", summary.status());
  std::cout << "backup in " << o.dir << ": " << Describe(*summary) << std::endl;
  return 0;
}

int RunRestore(const BackupOptions& o) {
  absl::StatusOr<BackupSummary> summary =
      RestoreBackup(o.dir, o.data_dir, ResolveKeyFilePaths(o.data_dir, o.keys));
  if (!summary.ok()) return Fail("restore", summary.status());
  std::cout << "restored " << o.dir << " into " << o.data_dir << ": " << Describe(*summary)
            << std::endl;
  return 0;
}

}  // namespace

Subcommand AddBackupCommand(CLI::App& app) {
  auto o = std::make_shared<BackupOptions>();
  CLI::App* cmd = app.add_subcommand(
      "backup", "copy the database and its key files into a new directory (while serving)");
  AddDataDirOption(cmd, &o->data_dir);
  AddKeyFileOptions(cmd, &o->keys);
  cmd->add_option("--to", o->dir, "the backup directory (new or empty)")->required();
  cmd->add_flag("--no-keys", o->no_keys,
                "leave the key files out (back them up apart; restore needs them in place)");
  return {cmd, [o] { return RunBackup(*o); }};
}

Subcommand AddRestoreCommand(CLI::App& app) {
  auto o = std::make_shared<BackupOptions>();
  CLI::App* cmd =
      app.add_subcommand("restore", "verify a backup and restore it into a new data directory");
  cmd->add_option("--data-dir", o->data_dir, "the new data directory (new or empty)")->required();
  AddKeyFileOptions(cmd, &o->keys);
  cmd->add_option("--from", o->dir, "the backup directory")->required();
  return {cmd, [o] { return RunRestore(*o); }};
}

}  // namespace sotto::server::cli
