#include "client-lib/backup/backup_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/status_macros.h"

namespace sotto::client::backup {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Syncs, closes, and renames `tmp` to `out` without ever replacing an
// existing file (renameat2 RENAME_NOREPLACE; where the file system has no
// such rename, link and unlink, which vfat and exFAT — USB sticks, the
// usual place for a backup — refuse in turn), then syncs the directory, so
// that `out` exists only complete.
absl::Status Publish(FILE* file, const std::string& tmp, const std::string& out) {
  bool ok = std::fflush(file) == 0 && fsync(fileno(file)) == 0;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) return ErrnoError("writing", tmp);
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(out, " appeared while the backup was written"));
    }
    if (errno != EINVAL && errno != ENOSYS) return ErrnoError("naming the backup", out);
    if (link(tmp.c_str(), out.c_str()) != 0) {
      if (errno == EEXIST) {
        return absl::AlreadyExistsError(
            absl::StrCat(out, " appeared while the backup was written"));
      }
      return ErrnoError("naming the backup", out);
    }
    unlink(tmp.c_str());
  }
  const std::string dir = std::filesystem::path(out).parent_path().string();
  const int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

// The rows of the profile as they are now, read without the lock.
absl::StatusOr<BackupProgress> WriteSnapshot(ProfileSession& s, FILE* file, const StreamKey& key,
                                             const ProgressFn& progress)
    ABSL_LOCKS_EXCLUDED(s.mu) {
  std::unique_ptr<storage::StoreSnapshot> snapshot;
  std::string handle;
  {
    absl::MutexLock lock(&s.mu);
    SOTTO_RETURN_IF_ERROR(s.CheckNotLocked());
    SOTTO_ASSIGN_OR_RETURN(snapshot, storage::SnapshotStore(s.store()));
    handle = s.profile().handle();
    s.BeginOutsideRead();
  }
  absl::StatusOr<BackupProgress> written = WriteBackup(*snapshot, handle, file, key, progress);
  absl::MutexLock lock(&s.mu);
  snapshot.reset();
  s.EndOutsideRead();
  return written;
}

}  // namespace

absl::StatusOr<BackupProgress> WriteBackupFile(ProfileSession& session, const std::string& out,
                                               const StreamKey& key, const ProgressFn& progress) {
  struct stat st {};
  if (lstat(out.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(out, " exists; a backup is written to a new file, never over another"));
  }
  unsigned char random[6];
  randombytes_buf(random, sizeof random);
  const std::string tmp = absl::StrCat(
      out, ".partial-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(random), sizeof random)));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("creating", tmp);
  fchmod(fd, 0600);  // whatever the umask did
  FILE* file = fdopen(fd, "wb");
  if (file == nullptr) {
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError("opening", tmp);
  }
  absl::StatusOr<BackupProgress> written = WriteSnapshot(session, file, key, progress);
  absl::Status status = written.status();
  if (status.ok()) {
    status = Publish(file, tmp, out);
  } else {
    std::fclose(file);
  }
  unlink(tmp.c_str());
  if (!status.ok()) return status;
  return written;
}

}  // namespace sotto::client::backup
