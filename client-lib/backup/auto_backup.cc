#include "client-lib/backup/auto_backup.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client-lib/backup/backup_file.h"
#include "sotto/status_macros.h"

namespace sotto::client::backup {
namespace {

using storage::Space;

constexpr char kSettingsKey[] = "auto_backup";
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// A failed attempt is retried no sooner than this (or the interval, if shorter).
constexpr int64_t kRetryMs = 60 * 60 * 1000;
// After the profile was found locked, the runner looks again this much later.
constexpr int64_t kLockedRetryMs = 60 * 1000;
// The thread looks again at least this often (the clock may be changed).
constexpr absl::Duration kLongestWait = absl::Hours(1);

// "sotto-backup-TAG-"; a complete file ends in kSuffix, a temporary one
// has ".partial-" after it (backup_file.cc).
std::string Prefix(const AutoBackupSettings& s) {
  return absl::StrCat("sotto-backup-", s.file_tag(), "-");
}
constexpr char kSuffix[] = ".sottobackup";

absl::Status MakeDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the backup directory ", dir.string(), ": ", ec.message()));
  }
  chmod(dir.c_str(), 0700);
  return absl::OkStatus();
}

// Deletes this profile's complete backups beyond the newest `keep` (the
// names sort by time) and the temporary files of interrupted runs (one run
// at a time per profile, so none is being written now).
void Prune(const AutoBackupSettings& s) {
  const std::string prefix = Prefix(s);
  std::vector<std::filesystem::path> complete;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(s.dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (!absl::StartsWith(name, prefix)) continue;
    if (absl::StrContains(name, ".partial-")) {
      std::filesystem::remove(e.path(), ec);
    } else if (absl::EndsWith(name, kSuffix)) {
      complete.push_back(e.path());
    }
  }
  std::sort(complete.begin(), complete.end(), std::greater<>());
  for (size_t i = s.keep(); i < complete.size(); ++i) std::filesystem::remove(complete[i], ec);
}

// ProfileSession::Enter without counting as use: a backup the runner writes
// on its own must not keep the profile from locking itself (auto_lock_after).
absl::Status EnterQuietly(ProfileSession& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  if (session.AutoLockDue()) return session.Enter();  // locks, and says so
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<AutoBackupSettings>> LoadAutoBackup(ProfileSession& session) {
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(EnterQuietly(session));
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                         session.store().Get(Space::kMeta, kSettingsKey));
  if (!bytes) return std::nullopt;
  AutoBackupSettings settings;
  if (!settings.ParseFromString(*bytes)) {
    return absl::DataLossError("the automatic backup settings in this profile are damaged");
  }
  return settings;
}

absl::Status SaveAutoBackup(ProfileSession& session,
                            const std::optional<AutoBackupSettings>& settings) {
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(EnterQuietly(session));
  std::optional<std::string> value;
  if (settings) value = settings->SerializeAsString();
  return session.store().Apply({storage::Write{Space::kMeta, kSettingsKey, std::move(value)}});
}

int64_t NextDueMs(const AutoBackupSettings& s) {
  const int64_t every_ms = s.every_seconds() * 1000;
  int64_t due = s.last_backup_ms() == 0 ? 0 : s.last_backup_ms() + every_ms;
  if (!s.last_error().empty()) due = std::max(due, s.last_attempt_ms() + std::min(every_ms, kRetryMs));
  return due;
}

absl::StatusOr<std::string> WriteAutoBackup(ProfileSession& session,
                                            const AutoBackupSettings& settings, int64_t now_ms) {
  SOTTO_RETURN_IF_ERROR(MakeDir(settings.dir()));
  const std::string name =
      absl::StrCat(Prefix(settings),
                   absl::FormatTime("%Y%m%dT%H%M%SZ", absl::FromUnixMillis(now_ms),
                                    absl::UTCTimeZone()),
                   kSuffix);
  const std::string path = (std::filesystem::path(settings.dir()) / name).string();
  SOTTO_RETURN_IF_ERROR(WriteBackupFile(session, path,
                                        StreamKey::RecoveryPublic(settings.recovery_public_key()),
                                        nullptr)
                            .status());
  Prune(settings);
  return path;
}

AutoBackupRunner::AutoBackupRunner(ProfileSession& session)
    : session_(session), next_due_ms_(kNever) {}

AutoBackupRunner::~AutoBackupRunner() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AutoBackupRunner::Reload() {
  absl::StatusOr<std::optional<AutoBackupSettings>> settings = LoadAutoBackup(session_);
  absl::MutexLock lock(&mu_);
  if (!settings.ok() || !*settings) {
    next_due_ms_ = kNever;
    return;
  }
  next_due_ms_ = NextDueMs(**settings);
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  poked_ = true;  // the thread looks again
}

void AutoBackupRunner::Poke() {
  absl::MutexLock lock(&mu_);
  if (started_ && session_.NowMs() >= next_due_ms_) poked_ = true;
}

void AutoBackupRunner::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const int64_t now = session_.NowMs();
      const absl::Duration wait =
          next_due_ms_ <= now ? absl::ZeroDuration()
                              : std::min(kLongestWait, absl::Milliseconds(next_due_ms_ - now));
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || poked_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
      if (stop_) return;
      poked_ = false;
      if (session_.NowMs() < next_due_ms_) continue;
    }
    // The outcome is kept in the settings (last_error); nobody waits for it.
    // An error before that (the profile locked) is retried a minute later,
    // not at once.
    if (!RunIfDue().ok()) {
      absl::MutexLock lock(&mu_);
      next_due_ms_ = std::max(next_due_ms_, session_.NowMs() + kLockedRetryMs);
    }
  }
}

absl::StatusOr<std::string> AutoBackupRunner::RunIfDue() {
  absl::MutexLock run(&run_mu_);
  return RunLocked();
}

absl::StatusOr<std::string> AutoBackupRunner::RunLocked() {
  SOTTO_ASSIGN_OR_RETURN(std::optional<AutoBackupSettings> settings, LoadAutoBackup(session_));
  if (!settings) {
    absl::MutexLock lock(&mu_);
    next_due_ms_ = kNever;
    return absl::FailedPreconditionError(
        "automatic backups are off; turn them on with `sotto settings --backup-dir DIR`");
  }
  const int64_t now = session_.NowMs();
  if (now < NextDueMs(*settings)) {
    absl::MutexLock lock(&mu_);
    next_due_ms_ = NextDueMs(*settings);
    return std::string();
  }
  absl::StatusOr<std::string> written = WriteAutoBackup(session_, *settings, now);
  // Settings may have changed meanwhile: only the outcome is written back.
  SOTTO_ASSIGN_OR_RETURN(std::optional<AutoBackupSettings> latest, LoadAutoBackup(session_));
  if (latest) {
    latest->set_last_attempt_ms(now);
    if (written.ok()) {
      latest->set_last_backup_ms(now);
      latest->clear_last_error();
    } else {
      latest->set_last_error(std::string(written.status().message()));
    }
    SOTTO_RETURN_IF_ERROR(SaveAutoBackup(session_, latest));
  }
  {
    absl::MutexLock lock(&mu_);
    next_due_ms_ = latest ? NextDueMs(*latest) : kNever;
  }
  return written;
}

}  // namespace sotto::client::backup
