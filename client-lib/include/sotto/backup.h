#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_BACKUP_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_BACKUP_H_

/// @file
/// Encrypted backup of a profile under a recovery key, and restoring it on a
/// new device (Client::Backup, Client::Restore). The file format is in
/// docs/BACKUP.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "sotto/client.h"
#include "sotto/clock.h"

namespace sotto {

/// How far a backup or restore has got (for a progress line).
struct BackupProgress {
  /// Records (stored rows: messages, contacts, keys, settings) so far.
  uint64_t records = 0;
  /// Bytes of the backup file written or read so far.
  uint64_t bytes = 0;
};

/// What Client::Backup needs.
struct BackupOptions {
  /// The file to write. Must not exist: it is created owner-only (0600) and
  /// appears under this name only once complete (written beside it under a
  /// temporary name, synced, then linked in place), so a crash or an error
  /// never leaves a partial backup under `out_path`.
  std::string out_path;
  /// Called every few thousand records and at the end (on the calling
  /// thread). May be empty.
  std::function<void(const BackupProgress&)> progress;
};

/// What Client::Backup made.
struct BackupResult {
  /// The recovery key: 40 digits in ten groups of four. It is shown only
  /// now and stored nowhere; without it the backup cannot be opened. Tell
  /// the user to write it down and keep it apart from the file.
  std::string recovery_key;
  /// Records and bytes written.
  BackupProgress written;
};

/// What Client::Restore needs.
struct RestoreOptions {
  /// The backup file (Client::Backup's out_path).
  std::string backup_path;
  /// The recovery key as typed (spaces and dashes are ignored).
  std::string recovery_key;
  /// A NEW profile directory: ALREADY_EXISTS if it holds a profile,
  /// FAILED_PRECONDITION if it is anything but missing or empty. The profile
  /// is written beside it (`DIR.restoring-XXXX`) and renamed to it only once
  /// complete, so a restore killed midway leaves no profile in it (the next
  /// restore removes what the killed one left).
  std::string profile_dir;
  /// The passphrase protecting the restored profile (may differ from the
  /// old one). Must not be empty.
  std::string passphrase;
  /// How hard `passphrase` is stretched.
  KeyDerivation key_derivation = KeyDerivation::kInteractive;
  /// As OpenOptions: override the server address or TLS recorded in the
  /// backed-up profile; empty keeps them.
  std::string server_address;
  std::string tls_ca_pem;         ///< As OpenOptions::tls_ca_pem.
  bool tls_system_roots = false;  ///< As OpenOptions::tls_system_roots.
  /// As OpenOptions::auto_lock_after and clock.
  absl::Duration auto_lock_after = absl::Minutes(15);
  std::shared_ptr<const Clock> clock;  ///< As OpenOptions::clock; null: the system's.
  /// Progress of reading the file (each of its two passes). May be empty.
  std::function<void(const BackupProgress&)> progress;
};

/// What Client::Restore gives back.
struct RestoreResult {
  /// The restored profile, open.
  std::unique_ptr<Client> client;
  /// Records restored.
  uint64_t records = 0;
  /// Contacts sent a new session (see Client::Restore).
  int sessions_started = 0;
  /// OK, or why fresh keys or new sessions could not go out (e.g. the server
  /// was unreachable): the profile is restored anyway, and the first
  /// message to each contact starts a new session by itself.
  absl::Status network_status;
};

/// What Client::SetAutoBackup needs.
struct AutoBackupOptions {
  /// The directory the backups go to (created owner-only if missing), e.g.
  /// a mounted USB stick or a synced folder. Each file is
  /// `sotto-backup-TAG-YYYYMMDDTHHMMSSZ.sottobackup` (TAG: 8 hex digits of
  /// this profile), complete or absent, owner-only.
  std::string dir;
  /// How often: a backup is written when the profile is used and the last
  /// one is at least this old. At least one minute.
  absl::Duration every = absl::Hours(24);
  /// How many of the newest backups to keep (1 to 1000); older ones of this
  /// profile are deleted once a new one is complete.
  int keep = 7;
  /// Make a new recovery key even if automatic backups were set up before
  /// (the backups written before stay under the old one).
  bool new_recovery_key = false;
};

/// What Client::SetAutoBackup gives back.
struct AutoBackupSetup {
  /// The recovery key that opens every automatic backup (Client::Restore),
  /// 40 digits in ten groups of four — only when a new one was made, else
  /// empty. Shown only now and stored nowhere (the profile keeps only a
  /// public key derived from it): tell the user to write it down.
  std::string recovery_key;
};

/// Automatic backups as set up (Client::GetAutoBackup).
struct AutoBackupStatus {
  bool enabled = false;                    ///< false: off, the rest is empty
  std::string dir;                         ///< where they go (absolute)
  absl::Duration every = absl::ZeroDuration();  ///< how often
  int keep = 0;                            ///< how many are kept
  /// When the last one was completed; absl::InfinitePast() if none yet.
  absl::Time last_backup = absl::InfinitePast();
  /// Empty, or why the last attempt failed (it is retried when due).
  std::string last_error;
};

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_BACKUP_H_
