#ifndef SOTTO_CLIENT_LIB_BACKUP_AUTO_BACKUP_H_
#define SOTTO_CLIENT_LIB_BACKUP_AUTO_BACKUP_H_

// Automatic backups (Client::SetAutoBackup, docs/BACKUP.md "Automatic
// backups"): written to a directory the user chose, sealed to the public key
// the recovery key derives (so no secret is stored to write them), whenever
// the profile is in use and the last one is older than the interval.

#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/client/records.pb.h"

namespace sotto::client::backup {

// The settings as stored (Space kMeta, "auto_backup"); nullopt when off.
// The errors of ProfileSession::Enter (locked) and of the store.
absl::StatusOr<std::optional<AutoBackupSettings>> LoadAutoBackup(ProfileSession& session)
    ABSL_LOCKS_EXCLUDED(session.mu);
// Stores `settings`, or removes them (off) for nullopt.
absl::Status SaveAutoBackup(ProfileSession& session,
                            const std::optional<AutoBackupSettings>& settings)
    ABSL_LOCKS_EXCLUDED(session.mu);

// When the next backup is due (Unix ms): `every` after the last one, and no
// sooner than min(every, 1 h) after a failed attempt.
int64_t NextDueMs(const AutoBackupSettings& settings);

// Writes one automatic backup at `now_ms` into settings.dir (created
// owner-only if missing), then deletes this profile's backups beyond the
// newest settings.keep (and temporary files an interrupted run left).
// Returns the file written.
absl::StatusOr<std::string> WriteAutoBackup(ProfileSession& session,
                                            const AutoBackupSettings& settings, int64_t now_ms)
    ABSL_LOCKS_EXCLUDED(session.mu);

// Runs the automatic backups of one open profile. A thread of its own (only
// once backups are on) waits until one is due — woken early by Poke when the
// profile is used — and writes it; so a running agent or desk writes them
// too. Thread-safe. Must be destroyed before `session`.
class AutoBackupRunner {
 public:
  explicit AutoBackupRunner(ProfileSession& session);
  AutoBackupRunner(const AutoBackupRunner&) = delete;
  AutoBackupRunner& operator=(const AutoBackupRunner&) = delete;
  // Stops the thread; a backup being written is finished first (its file
  // appears complete or not at all).
  ~AutoBackupRunner();

  // Reads the settings again (at open, and after they changed); starts the
  // thread if backups are on.
  void Reload() ABSL_LOCKS_EXCLUDED(mu_);
  // The profile is in use: if a backup is due, the thread writes it now.
  // Cheap when none is due; never waits for the backup.
  void Poke() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes a backup now if one is due and returns its file; "" if none was
  // due. Waits for a backup the thread is writing (and then finds none due).
  // FAILED_PRECONDITION when backups are off.
  absl::StatusOr<std::string> RunIfDue() ABSL_LOCKS_EXCLUDED(run_mu_, mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // RunIfDue's work; `run_mu_` held.
  absl::StatusOr<std::string> RunLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);

  ProfileSession& session_;
  // One backup at a time (the thread's or RunIfDue's).
  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  // When the next backup is due (Unix ms on the session's clock); INT64_MAX
  // when off.
  int64_t next_due_ms_ ABSL_GUARDED_BY(mu_);
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started once under mu_, joined by the destructor
};

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_AUTO_BACKUP_H_
