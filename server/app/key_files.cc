#include "server/app/key_files.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sotto::server {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `text` to `path` as a new 0600 file, atomically: a crash leaves
// either no file or the whole key.
absl::Status WriteNewKeyFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot create key file", tmp);
  // O_CREAT's mode is masked by the umask; 0600 is what we mean.
  bool ok = fchmod(fd, 0600) == 0 &&
            write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  errno = saved;
  if (!ok) return Errno("cannot write key file", tmp);
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename into place", path);
  // The rename is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretKey> CreateKeyFile(const std::string& path) {
  absl::StatusOr<SecretKey> key = SecretKey::Generate();
  if (!key.ok()) return key.status();
  std::string text = key->ToHex() + "\n";
  absl::Status written = WriteNewKeyFile(path, text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!written.ok()) return written;
  return key;
}

// Reads at most 128 bytes of `fd` (a key file is 65).
std::string ReadSmall(int fd) {
  std::string text(128, '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

KeyFilePaths ResolveKeyFilePaths(const std::string& data_dir, KeyFilePaths paths) {
  std::string base = data_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (paths.audit_key.empty()) paths.audit_key = base + ".audit-key";
  if (paths.code_pepper.empty()) paths.code_pepper = base + ".code-pepper";
  if (paths.notification_key.empty()) paths.notification_key = base + ".notify-key";
  return paths;
}

absl::StatusOr<SecretKey> LoadKeyFile(const std::string& path, bool create) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (create) return CreateKeyFile(path);
    return absl::NotFoundError(absl::StrCat("key file ", path, " does not exist"));
  }
  if (fd < 0) return Errno("cannot open key file", path);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Errno("cannot stat key file", path);
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " may be read by group or others (mode ",
                     absl::StrFormat("%03o", st.st_mode & 0777), "); chmod 600 it"));
  }
  std::string text = ReadSmall(fd);
  close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  absl::StatusOr<SecretKey> key = absl::DataLossError(
      absl::StrCat("key file ", path, " is not 64 hex digits (a sotto-server key file)"));
  if (text.size() == 2 * SecretKey::kBytes &&
      text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
    std::string bytes = absl::HexStringToBytes(text);
    key = SecretKey::FromBytes(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
  }
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

AuditLog::KeySource AuditKeyFile(std::string path) {
  return [path = std::move(path)](AuditLog::Chain chain) -> absl::StatusOr<SecretKey> {
    if (chain == AuditLog::Chain::kLegacy && access(path.c_str(), F_OK) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the audit chain's last entry has no MAC, yet its key file ", path,
          " exists: entries were rewritten without the key (or written by an older server after "
          "the key was made). Run sotto-server audit --verify; the server will not seal such a "
          "chain"));
    }
    absl::StatusOr<SecretKey> key = LoadKeyFile(path, /*create=*/chain != AuditLog::Chain::kMacd);
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the audit chain is MAC'd, but its key file ", path,
          " is missing: restore it from your backup (or point --audit-key-file at it); a new key "
          "would verify nothing written before"));
    }
    return key;
  };
}

}  // namespace sotto::server
