// WipeEncryptedStore (encrypted_rocks_store.h): overwriting a store's files
// before deleting them. Kept apart from the store itself, which reads and
// writes through RocksDB; this only needs RocksDB's lock.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "rocksdb/env.h"
#include "sotto/status_macros.h"

namespace sotto::client::storage {

absl::Status WipeEncryptedStore(const std::string& dir) {
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  // RocksDB's own lock: refused while this process or another has it open.
  rocksdb::Env* env = rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  if (rocksdb::Status s = env->LockFile(dir + "/LOCK", &lock); !s.ok()) {
    // The lock is held: a second sotto command, or an app, has it open.
    return absl::UnavailableError(absl::StrCat("locking ", dir, ": ", s.ToString()));
  }
  absl::Status overwritten;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().filename() == "LOCK") continue;
    const std::string path = entry.path().string();
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    struct stat st {};
    bool ok = fd >= 0 && fstat(fd, &st) == 0;
    static const char kZeros[64 * 1024] = {0};
    for (off_t done = 0; ok && done < st.st_size;) {
      const size_t n = static_cast<size_t>(
          std::min<off_t>(st.st_size - done, static_cast<off_t>(sizeof kZeros)));
      const ssize_t w = pwrite(fd, kZeros, n, done);
      ok = w > 0;
      done += ok ? w : 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!ok && overwritten.ok()) {
      overwritten = absl::InternalError(
          absl::StrCat("overwriting ", path, " failed: ", std::strerror(errno)));
    }
  }
  if (ec && overwritten.ok()) {
    overwritten = absl::InternalError(absl::StrCat("listing ", dir, ": ", ec.message()));
  }
  env->UnlockFile(lock).PermitUncheckedError();
  SOTTO_RETURN_IF_ERROR(overwritten);
  // The files are zeros now: DestroyDB removes them by name, without reading.
  SOTTO_RETURN_IF_ERROR(DestroyEncryptedStore(dir));
  // DestroyDB leaves the directory when anything else is in it (a LOG.old,
  // a stray file); the profile is gone either way.
  std::filesystem::remove(dir, ec);
  return absl::OkStatus();
}

}  // namespace sotto::client::storage
