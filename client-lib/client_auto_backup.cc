// sotto::Client: automatic backups (sotto/backup.h, docs/BACKUP.md
// "Automatic backups"). The writing, pruning and scheduling are in
// client-lib/backup/auto_backup.*; here are the settings' checks.

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/backup/auto_backup.h"
#include "client-lib/backup/recovery_key.h"
#include "sotto/backup.h"
#include "sotto/client.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

constexpr int kMaxKeep = 1000;

// The directory as an absolute path, created owner-only if missing, and
// writable by this user: a typo'd mount point is refused now, not found
// out at the first failed backup.
absl::StatusOr<std::string> CheckDir(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("the backup directory must not be empty");
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("backup directory ", dir, ": ", ec.message()));
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("the backup directory ", dir, " is a file"));
  }
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the backup directory ", dir, ": ", ec.message()));
  }
  if (access(path.c_str(), W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the backup directory ", dir, " is not writable by this user"));
  }
  return path.lexically_normal().string();
}

std::string FileTag() {
  unsigned char tag[4];
  randombytes_buf(tag, sizeof tag);
  char hex[2 * sizeof tag + 1];
  sodium_bin2hex(hex, sizeof hex, tag, sizeof tag);
  return hex;
}

}  // namespace

absl::StatusOr<AutoBackupSetup> Client::SetAutoBackup(const AutoBackupOptions& options) {
  if (options.every < absl::Minutes(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the backup interval must be at least one minute, not ", absl::FormatDuration(options.every)));
  }
  if (options.keep < 1 || options.keep > kMaxKeep) {
    return absl::InvalidArgumentError(absl::StrCat("the number of backups to keep must be 1 to ",
                                                   kMaxKeep, ", not ", options.keep));
  }
  SOTTO_ASSIGN_OR_RETURN(std::string dir, CheckDir(options.dir));
  SOTTO_ASSIGN_OR_RETURN(std::optional<client::AutoBackupSettings> old,
                         client::backup::LoadAutoBackup(session()));
  client::AutoBackupSettings settings = old.value_or(client::AutoBackupSettings());
  AutoBackupSetup setup;
  if (!old || options.new_recovery_key) {
    setup.recovery_key = client::backup::NewRecoveryKey();
    SOTTO_ASSIGN_OR_RETURN(std::string digits,
                           client::backup::NormalizeRecoveryKey(setup.recovery_key));
    settings.set_recovery_public_key(client::backup::RecoveryPublicKey(digits));
    sodium_memzero(digits.data(), digits.size());
    // A new key starts a new series: the first backup under it is due now.
    settings.set_last_backup_ms(0);
    settings.clear_last_error();
  }
  if (settings.file_tag().empty()) settings.set_file_tag(FileTag());
  settings.set_dir(dir);
  settings.set_every_seconds(absl::ToInt64Seconds(options.every));
  settings.set_keep(static_cast<uint32_t>(options.keep));
  SOTTO_RETURN_IF_ERROR(client::backup::SaveAutoBackup(session(), settings));
  auto_backup().Reload();
  return setup;
}

absl::Status Client::DisableAutoBackup() {
  SOTTO_RETURN_IF_ERROR(client::backup::SaveAutoBackup(session(), std::nullopt));
  auto_backup().Reload();
  return absl::OkStatus();
}

absl::StatusOr<AutoBackupStatus> Client::GetAutoBackup() {
  SOTTO_ASSIGN_OR_RETURN(std::optional<client::AutoBackupSettings> settings,
                         client::backup::LoadAutoBackup(session()));
  AutoBackupStatus status;
  if (!settings) return status;
  status.enabled = true;
  status.dir = settings->dir();
  status.every = absl::Seconds(settings->every_seconds());
  status.keep = static_cast<int>(settings->keep());
  if (settings->last_backup_ms() != 0) {
    status.last_backup = absl::FromUnixMillis(settings->last_backup_ms());
  }
  status.last_error = settings->last_error();
  return status;
}

absl::StatusOr<std::string> Client::BackUpIfDue() { return auto_backup().RunIfDue(); }

}  // namespace sotto
