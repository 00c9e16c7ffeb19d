#include "server/app/backup.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/domain/audit_log.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestHeader[] = "sotto-backup 1";
constexpr char kDbDir[] = "db";
constexpr char kAuditKeyName[] = "audit-key";
constexpr char kCodePepperName[] = "code-pepper";
constexpr size_t kChunk = 1 << 20;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// A file as the manifest lists it: path relative to the backup directory.
struct FileEntry {
  std::string path;
  uint64_t size = 0;
  std::string sha256_hex;
};

struct FdCloser {
  void operator()(int* fd) const {
    close(*fd);
    delete fd;
  }
};
using UniqueFd = std::unique_ptr<int, FdCloser>;

UniqueFd OpenFd(const std::string& path, int flags, mode_t mode = 0) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  return fd < 0 ? UniqueFd() : UniqueFd(new int(fd));
}

struct DigestFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Reads `src` in chunks, hashing it and, with `dst` (a new file, `mode`),
// writing it there and syncing it: a file is read once whether copied or
// checked.
absl::StatusOr<FileEntry> HashAndCopy(const std::string& src, const std::string* dst,
                                      mode_t mode = 0600) {
  UniqueFd in = OpenFd(src, O_RDONLY);
  if (!in) return Errno("cannot open", src);
  UniqueFd out;
  if (dst != nullptr) {
    out = OpenFd(*dst, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (!out || fchmod(*out, mode) != 0) return Errno("cannot create", *dst);
  }
  std::unique_ptr<EVP_MD_CTX, DigestFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("SHA-256 unavailable");
  }
  FileEntry entry;
  std::vector<char> buf(kChunk);
  while (true) {
    ssize_t n = read(*in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", src);
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    entry.size += static_cast<uint64_t>(n);
    for (ssize_t done = 0; out && done < n;) {
      ssize_t w = write(*out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Errno("cannot write", *dst);
      done += w;
    }
  }
  if (out && fsync(*out) != 0) return Errno("cannot sync", *dst);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  entry.sha256_hex = absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), len));
  return entry;
}

// A rename or a new file is durable only once its directory is synced.
absl::Status SyncDir(const std::string& dir) {
  UniqueFd fd = OpenFd(dir, O_RDONLY | O_DIRECTORY);
  if (!fd || fsync(*fd) != 0) return Errno("cannot sync directory", dir);
  return absl::OkStatus();
}

// Creates `dir` (0700) unless it exists empty. FAILED_PRECONDITION if it
// holds anything: a backup or restore never mixes with older files.
absl::Status MakeEmptyDir(const std::string& dir, absl::string_view what) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " ", dir, " is not empty; name a new or empty directory"));
    }
  } else if (!fs::create_directories(dir, ec) && ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", what, " ", dir, ": ", ec.message()));
  }
  if (chmod(dir.c_str(), 0700) != 0) return Errno("cannot chmod", dir);
  return absl::OkStatus();
}

std::string FormatManifest(const std::vector<FileEntry>& files) {
  std::string out =
      absl::StrCat(kManifestHeader, "\ncreated_ms ", absl::ToUnixMillis(absl::Now()), "\n");
  for (const FileEntry& f : files) {
    absl::StrAppend(&out, "file ", f.sha256_hex, " ", f.size, " ", f.path, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<FileEntry>> ReadManifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kBackupManifestName).string();
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a complete sotto backup: it has no ", kBackupManifestName,
                     " (not a backup, or one that was cut short)"));
  }
  std::string line;
  if (!std::getline(in, line) || line != kManifestHeader) {
    return absl::DataLossError(absl::StrCat(path, ": not a sotto backup manifest"));
  }
  std::vector<FileEntry> files;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    if (f[0] != "file") continue;
    FileEntry e;
    // A path must stay inside the backup: no "..", not absolute.
    if (f.size() != 4 || !absl::SimpleAtoi(f[2], &e.size) || f[1].size() != 64 || f[3].empty() ||
        f[3][0] == '/' || f[3].find("..") != std::string::npos) {
      return absl::DataLossError(absl::StrCat(path, ": malformed line \"", line, "\""));
    }
    e.sha256_hex = f[1];
    e.path = f[3];
    files.push_back(std::move(e));
  }
  return files;
}

BackupSummary Summarize(const std::vector<FileEntry>& files) {
  BackupSummary s;
  for (const FileEntry& f : files) {
    ++s.files;
    s.bytes += f.size;
    if (f.path == kAuditKeyName) s.audit_key = true;
    if (f.path == kCodePepperName) s.code_pepper = true;
  }
  return s;
}

absl::StatusOr<std::vector<FileEntry>> CopyBackupFiles(const std::string& checkpoint_dir,
                                                       const KeyFilePaths& keys,
                                                       const std::string& to) {
  std::vector<FileEntry> files;
  const std::string db = (fs::path(to) / kDbDir).string();
  SOTTO_RETURN_IF_ERROR(MakeEmptyDir(db, "backup database directory"));
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(checkpoint_dir, ec)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    const std::string dst = (fs::path(db) / name).string();
    SOTTO_ASSIGN_OR_RETURN(FileEntry f, HashAndCopy(e.path().string(), &dst));
    f.path = absl::StrCat(kDbDir, "/", name);
    files.push_back(std::move(f));
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", checkpoint_dir, ": ", ec.message()));
  SOTTO_RETURN_IF_ERROR(SyncDir(db));
  for (const auto& [src, name] :
       {std::pair{keys.audit_key, kAuditKeyName}, std::pair{keys.code_pepper, kCodePepperName}}) {
    if (!fs::exists(src, ec)) continue;
    const std::string dst = (fs::path(to) / name).string();
    SOTTO_ASSIGN_OR_RETURN(FileEntry f, HashAndCopy(src, &dst));
    f.path = name;
    files.push_back(std::move(f));
  }
  return files;
}

// Opens the restored database read-only (which checks its schema version)
// and verifies its whole audit chain with the restored key: the data and
// the key belong together.
absl::Status CheckRestored(const std::string& data_dir, const std::string& audit_key) {
  RocksDbStoreOptions options;
  options.read_only = true;
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenRocksDbStore(data_dir, options));
  absl::StatusOr<SecretKey> key = LoadKeyFile(audit_key, /*create=*/false);
  if (!key.ok() && key.status().code() != absl::StatusCode::kNotFound) return key.status();
  AuditChainVerifier verifier(key.ok() ? &*key : nullptr);
  std::string after;
  constexpr size_t kPage = 1000;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(Table::kAudit, "", after, kPage));
    for (const KeyValue& row : rows) SOTTO_RETURN_IF_ERROR(verifier.Add(row.key, row.value));
    if (rows.size() < kPage) break;
    after = rows.back().key;
  }
  absl::Status s = verifier.Finish();
  if (!s.ok()) {
    return absl::DataLossError(
        absl::StrCat("the restored audit trail does not verify with its key: ", s.message()));
  }
  return absl::OkStatus();
}

// A key file already at `dst` must hold what the backup holds: replacing
// it would orphan whatever it protects, and keeping a different one would
// leave the restored data unverifiable.
absl::Status KeyFileInTheWay(const std::string& src, const std::string& dst) {
  std::error_code ec;
  if (!fs::exists(dst, ec)) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(FileEntry have, HashAndCopy(dst, nullptr));
  SOTTO_ASSIGN_OR_RETURN(FileEntry want, HashAndCopy(src, nullptr));
  if (have.sha256_hex == want.sha256_hex) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "key file ", dst, " exists and holds another key than the backup's; move it away first"));
}

absl::Status CopyRestoredFiles(const std::string& from, const std::vector<FileEntry>& files,
                               const std::string& data_dir, const KeyFilePaths& keys,
                               std::vector<std::string>* created) {
  for (const FileEntry& f : files) {
    const std::string src = (fs::path(from) / f.path).string();
    std::string dst;
    if (f.path == kAuditKeyName || f.path == kCodePepperName) {
      dst = f.path == kAuditKeyName ? keys.audit_key : keys.code_pepper;
      std::error_code ec;
      if (fs::exists(dst, ec)) continue;  // the same key (KeyFileInTheWay)
    } else {
      dst = (fs::path(data_dir) / fs::path(f.path).filename()).string();
    }
    SOTTO_ASSIGN_OR_RETURN(FileEntry copied, HashAndCopy(src, &dst));
    created->push_back(dst);
    // Verified a moment ago; checked again as copied, against a change in
    // between.
    if (copied.sha256_hex != f.sha256_hex) {
      return absl::DataLossError(
          absl::StrCat("backup ", from, ": ", f.path, " changed while restoring"));
    }
    SOTTO_RETURN_IF_ERROR(SyncDir(fs::path(dst).parent_path().string()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string NewCheckpointDir(const std::string& data_dir) {
  return (fs::path(data_dir) / absl::StrCat("checkpoint-", absl::ToUnixMillis(absl::Now())))
      .string();
}

absl::StatusOr<BackupSummary> WriteBackup(const std::string& checkpoint_dir,
                                          const KeyFilePaths& keys, const std::string& to) {
  absl::StatusOr<std::vector<FileEntry>> files = [&]() -> absl::StatusOr<std::vector<FileEntry>> {
    SOTTO_RETURN_IF_ERROR(MakeEmptyDir(to, "backup directory"));
    return CopyBackupFiles(checkpoint_dir, keys, to);
  }();
  std::error_code ec;
  // Ignore the error: a checkpoint left behind costs space, not data; the
  // operator is told below only if the backup itself failed.
  fs::remove_all(checkpoint_dir, ec);
  if (!files.ok()) return files.status();
  const std::string manifest = (fs::path(to) / kBackupManifestName).string();
  const std::string tmp = manifest + ".tmp";
  {
    UniqueFd fd = OpenFd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const std::string text = FormatManifest(*files);
    if (!fd || write(*fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        fsync(*fd) != 0) {
      return Errno("cannot write", tmp);
    }
  }
  if (rename(tmp.c_str(), manifest.c_str()) != 0)
    return Errno("cannot rename into place", manifest);
  SOTTO_RETURN_IF_ERROR(SyncDir(to));
  return Summarize(*files);
}

absl::StatusOr<BackupSummary> VerifyBackup(const std::string& dir) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<FileEntry> files, ReadManifest(dir));
  for (const FileEntry& want : files) {
    const std::string path = (fs::path(dir) / want.path).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return absl::DataLossError(absl::StrCat("backup ", dir, " lacks ", want.path));
    }
    SOTTO_ASSIGN_OR_RETURN(FileEntry got, HashAndCopy(path, nullptr));
    if (got.size != want.size || got.sha256_hex != want.sha256_hex) {
      return absl::DataLossError(absl::StrCat("backup ", dir, ": ", want.path,
                                              " has changed since the backup (", got.size,
                                              " bytes, ", want.size, " expected)"));
    }
  }
  return Summarize(files);
}

absl::StatusOr<BackupSummary> RestoreBackup(const std::string& from, const std::string& data_dir,
                                            const KeyFilePaths& keys) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<FileEntry> files, ReadManifest(from));
  SOTTO_ASSIGN_OR_RETURN(BackupSummary summary, VerifyBackup(from));
  for (const FileEntry& f : files) {
    if (f.path == kAuditKeyName || f.path == kCodePepperName) {
      SOTTO_RETURN_IF_ERROR(
          KeyFileInTheWay((fs::path(from) / f.path).string(),
                          f.path == kAuditKeyName ? keys.audit_key : keys.code_pepper));
    }
  }
  SOTTO_RETURN_IF_ERROR(MakeEmptyDir(data_dir, "data directory"));
  std::vector<std::string> created;
  absl::Status s = CopyRestoredFiles(from, files, data_dir, keys, &created);
  if (s.ok()) s = CheckRestored(data_dir, keys.audit_key);
  if (!s.ok()) {
    // Leave nothing half-restored that a server could start on. The data
    // directory was empty; a read-only open may have added RocksDB's LOG.
    std::error_code ec;
    for (const std::string& path : created) fs::remove(path, ec);
    for (const fs::directory_entry& e : fs::directory_iterator(data_dir, ec)) {
      fs::remove_all(e.path(), ec);
    }
    return s;
  }
  return summary;
}

}  // namespace sotto::server
