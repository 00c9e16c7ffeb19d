#include "client-lib/storage/owner_only.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace sotto::client::storage {
namespace {

constexpr mode_t kDirMode = S_IRWXU;             // 0700
constexpr mode_t kFileMode = S_IRUSR | S_IWUSR;  // 0600

// Sets `path` to `mode` after RocksDB created it. A failure fails the
// creation: a file we cannot make private must not silently stay readable.
rocksdb::IOStatus Restrict(const std::string& path, mode_t mode, rocksdb::IOStatus created) {
  if (!created.ok()) return created;
  if (chmod(path.c_str(), mode) != 0) {
    return rocksdb::IOStatus::IOError(
        absl::StrCat("cannot make ", path, " owner-only: ", std::strerror(errno)));
  }
  return created;
}

// The Posix file system, with every file and directory RocksDB creates set
// owner-only right away. (The directory is 0700 already, so nobody else could
// open a file in the moment between its creation and the chmod.)
class OwnerOnlyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  OwnerOnlyFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "SottoOwnerOnlyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->NewWritableFile(f, o, r, d));
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->ReopenWritableFile(f, o, r, d));
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->ReuseWritableFile(f, old, o, r, d));
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->NewRandomRWFile(f, o, r, d));
  }
  rocksdb::IOStatus NewLogger(const std::string& f, const rocksdb::IOOptions& o,
                              std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->NewLogger(f, o, r, d));
  }
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o,
                             rocksdb::FileLock** l, rocksdb::IODebugContext* d) override {
    return Restrict(f, kFileMode, target()->LockFile(f, o, l, d));
  }
  rocksdb::IOStatus CreateDir(const std::string& f, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* d) override {
    return Restrict(f, kDirMode, target()->CreateDir(f, o, d));
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string& f, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) override {
    return Restrict(f, kDirMode, target()->CreateDirIfMissing(f, o, d));
  }
};

}  // namespace

absl::Status CheckOwnerOnly(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrCat("cannot examine ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the profile directory ", dir, " belongs to user id ", st.st_uid,
                     ", not to you (", geteuid(),
                     "); whoever owns it can read and replace your keys. Use a profile "
                     "directory of your own"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the profile directory %s can be written by others (mode %04o), who could replace "
        "or delete your keys and messages; make it yours alone with `chmod 700 %s` and "
        "check that nothing in it was changed",
        dir, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

absl::Status MakeOwnerOnly(const std::string& dir) {
  if (chmod(dir.c_str(), kDirMode) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot make ", dir, " owner-only: ", std::strerror(errno)));
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    const std::string path = entry.path().string();
    if (chmod(path.c_str(), kFileMode) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot make ", path, " owner-only: ", std::strerror(errno)));
    }
  }
  if (ec) return absl::InternalError(absl::StrCat("listing ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

rocksdb::Env* OwnerOnlyEnv() {
  // Leaked on purpose: stores may close during static destruction.
  static rocksdb::Env* const env =
      rocksdb::NewCompositeEnv(std::make_shared<OwnerOnlyFileSystem>()).release();
  return env;
}

}  // namespace sotto::client::storage
