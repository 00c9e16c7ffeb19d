#include "server/domain/history_transfers.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sotto::server {
namespace {

// One answer for "never existed", "expired", "fetched" and "another
// account's": the id is the only thing that names an archive.
constexpr char kNoTransfer[] =
    "no such history transfer, or it expired or was fetched already";
constexpr char kMetaMagic[] = "sotto-history-transfer 1";

absl::Status CheckId(absl::string_view id) {
  if (id.size() == kHistoryTransferIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "transfer_id must be ", kHistoryTransferIdBytes, " bytes, got ", id.size()));
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

HistoryTransfers::HistoryTransfers(std::string dir, Clock* clock, HistoryTransferLimits limits)
    : dir_(std::move(dir)), clock_(clock), limits_(limits) {}

absl::StatusOr<std::unique_ptr<HistoryTransfers>> HistoryTransfers::Open(
    std::string dir, Clock* clock, HistoryTransferLimits limits) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  // Archives are ciphertext, but whose they are and how big is the
  // server's business only.
  if (chmod(dir.c_str(), 0700) != 0) return ErrnoError("restricting", dir);
  std::unique_ptr<HistoryTransfers> out(new HistoryTransfers(std::move(dir), clock, limits));
  absl::MutexLock lock(&out->mu_);
  absl::Status loaded = out->Load();
  if (!loaded.ok()) return loaded;
  return out;
}

std::string HistoryTransfers::PathOf(const std::string& id, absl::string_view ext) const {
  return absl::StrCat(dir_, "/", absl::BytesToHexString(id), ext);
}

absl::Status HistoryTransfers::Load() {
  std::error_code ec;
  std::vector<std::filesystem::path> strays;
  const int64_t now = clock_->NowMillis();
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::filesystem::path path = entry.path();
    if (path.extension() != ".meta") {
      strays.push_back(path);  // a data file is kept below if its meta is good
      continue;
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> lines = absl::StrSplit(text.str(), '\n');
    Transfer t;
    int64_t sealed = 0;
    const std::string hex = path.stem().string();
    const std::string id = absl::HexStringToBytes(hex);
    const bool parsed = lines.size() >= 5 && lines[0] == kMetaMagic &&
                        absl::SimpleAtoi(lines[2], &t.created_by) &&
                        absl::SimpleAtoi(lines[3], &t.expires_at_ms) &&
                        absl::SimpleAtoi(lines[4], &sealed) && hex.size() == 2 * id.size() &&
                        id.size() == kHistoryTransferIdBytes;
    t.handle = lines.size() > 1 ? lines[1] : "";
    t.sealed = sealed != 0;
    struct stat st {};
    const std::string data = PathOf(id, ".data");
    if (!parsed || t.expires_at_ms <= now || stat(data.c_str(), &st) != 0) {
      std::filesystem::remove(path, ec);
      continue;
    }
    t.size = static_cast<uint64_t>(st.st_size);
    spool_bytes_ += t.size;
    transfers_.emplace(id, std::move(t));
  }
  for (const std::filesystem::path& p : strays) {
    const std::string id = absl::HexStringToBytes(p.stem().string());
    if (p.extension() == ".data" && transfers_.contains(id)) continue;
    std::filesystem::remove(p, ec);  // half-written meta, orphaned data
  }
  return absl::OkStatus();
}

absl::Status HistoryTransfers::WriteMeta(const std::string& id, const Transfer& t) {
  const std::string path = PathOf(id, ".meta");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kMetaMagic << "\n"
        << t.handle << "\n"
        << t.created_by << "\n"
        << t.expires_at_ms << "\n"
        << (t.sealed ? 1 : 0) << "\n";
    if (!out.flush()) return ErrnoError("writing", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("naming", path);
  return absl::OkStatus();
}

void HistoryTransfers::Expire(int64_t now) {
  std::vector<std::string> gone;
  for (const auto& [id, t] : transfers_) {
    if (t.expires_at_ms <= now) gone.push_back(id);
  }
  for (const std::string& id : gone) Erase(id);
}

void HistoryTransfers::Erase(const std::string& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  spool_bytes_ -= it->second.size;
  transfers_.erase(it);
  // The meta first: without it, Load deletes an orphaned data file.
  unlink(PathOf(id, ".meta").c_str());
  unlink(PathOf(id, ".data").c_str());
}

HistoryTransfers::Transfer* HistoryTransfers::Find(const AuthenticatedDevice& caller,
                                                   absl::string_view id) {
  Expire(clock_->NowMillis());
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.handle != caller.handle) return nullptr;
  return &it->second;
}

absl::StatusOr<HistoryTransfers::Created> HistoryTransfers::Create(
    const AuthenticatedDevice& owner) {
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  size_t waiting = 0;
  for (const auto& [id, t] : transfers_) waiting += t.handle == owner.handle ? 1 : 0;
  if (waiting >= limits_.max_per_account) {
    return absl::ResourceExhaustedError(
        absl::StrCat("account ", owner.handle, " already has ", waiting,
                     " history transfers waiting (at most ", limits_.max_per_account,
                     "); finish or delete one first"));
  }
  if (spool_bytes_ >= limits_.max_spool_bytes) {
    return absl::ResourceExhaustedError("the server's history-transfer spool is full; try later");
  }
  std::string id(kHistoryTransferIdBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    return absl::UnavailableError("random number generator failed");
  }
  Transfer t{owner.handle, owner.device_id, clock_->NowMillis() + limits_.ttl_ms, false, 0};
  const std::string data = PathOf(id, ".data");
  const int fd = open(data.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("creating", data);
  close(fd);
  if (absl::Status s = WriteMeta(id, t); !s.ok()) {
    unlink(data.c_str());
    return s;
  }
  const int64_t expires = t.expires_at_ms;
  transfers_.emplace(id, std::move(t));
  return Created{id, expires};
}

absl::StatusOr<uint64_t> HistoryTransfers::Append(const AuthenticatedDevice& caller,
                                                  absl::string_view id, uint64_t offset,
                                                  absl::string_view data) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  if (data.empty() || data.size() > kMaxHistoryChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a history chunk must be 1..",
                                                   kMaxHistoryChunkBytes, " bytes, got ",
                                                   data.size()));
  }
  absl::MutexLock lock(&mu_);
  Transfer* t = Find(caller, id);
  if (t == nullptr) return absl::NotFoundError(kNoTransfer);
  if (t->sealed) {
    return absl::FailedPreconditionError("the history transfer is sealed; nothing can be added");
  }
  if (offset != t->size) {
    if (offset + data.size() == t->size) return t->size;  // a retry of the last chunk
    return absl::FailedPreconditionError(absl::StrCat(
        "chunk at offset ", offset, " but the archive on the server ends at ", t->size));
  }
  if (t->size + data.size() > limits_.max_transfer_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("a history archive may have at most ",
                                                     limits_.max_transfer_bytes, " bytes"));
  }
  if (spool_bytes_ + data.size() > limits_.max_spool_bytes) {
    return absl::ResourceExhaustedError("the server's history-transfer spool is full; try later");
  }
  const std::string path = PathOf(std::string(id), ".data");
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path);
  // Cut back to the known size first: a write that failed halfway must not
  // leave bytes the next chunk lands behind.
  bool ok = ftruncate(fd, static_cast<off_t>(t->size)) == 0;
  for (size_t done = 0; ok && done < data.size();) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int err = errno;
  close(fd);
  if (!ok) {
    errno = err;
    return ErrnoError("writing", path);
  }
  t->size += data.size();
  spool_bytes_ += data.size();
  return t->size;
}

absl::Status HistoryTransfers::Seal(const AuthenticatedDevice& caller, absl::string_view id,
                                    uint64_t total_bytes) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Transfer* t = Find(caller, id);
  if (t == nullptr) return absl::NotFoundError(kNoTransfer);
  if (t->size == 0) return absl::FailedPreconditionError("nothing was uploaded to seal");
  if (total_bytes != t->size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the archive has ", t->size, " bytes on the server, not ", total_bytes));
  }
  if (t->sealed) return absl::OkStatus();
  // The data must be on disk before the archive is offered as complete.
  const std::string path = PathOf(std::string(id), ".data");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fdatasync(fd) != 0) {
    if (fd >= 0) close(fd);
    return ErrnoError("syncing", path);
  }
  close(fd);
  Transfer sealed = *t;
  sealed.sealed = true;
  if (absl::Status s = WriteMeta(std::string(id), sealed); !s.ok()) return s;
  t->sealed = true;
  return absl::OkStatus();
}

absl::StatusOr<HistoryTransfers::Chunk> HistoryTransfers::Read(const AuthenticatedDevice& caller,
                                                               absl::string_view id,
                                                               uint64_t offset) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Transfer* t = Find(caller, id);
  if (t == nullptr) return absl::NotFoundError(kNoTransfer);
  if (!t->sealed) {
    return absl::FailedPreconditionError(
        "the history archive is still being uploaded by the other device; ask again shortly");
  }
  if (offset >= t->size) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset ", offset, " is past the archive's end (", t->size, " bytes)"));
  }
  Chunk chunk;
  chunk.total_bytes = t->size;
  chunk.data.resize(std::min<uint64_t>(kMaxHistoryChunkBytes, t->size - offset));
  const std::string path = PathOf(std::string(id), ".data");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path);
  size_t done = 0;
  while (done < chunk.data.size()) {
    const ssize_t n = pread(fd, chunk.data.data() + done, chunk.data.size() - done,
                            static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (done != chunk.data.size()) return ErrnoError("reading", path);
  chunk.last = offset + done == t->size;
  // Fetched whole: nothing of it stays on the server.
  if (chunk.last) Erase(std::string(id));
  return chunk;
}

absl::Status HistoryTransfers::Delete(const AuthenticatedDevice& caller, absl::string_view id) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (Find(caller, id) != nullptr) Erase(std::string(id));
  return absl::OkStatus();
}

void HistoryTransfers::DropAccount(absl::string_view handle) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, t] : transfers_) {
    if (t.handle == handle) gone.push_back(id);
  }
  for (const std::string& id : gone) Erase(id);
}

void HistoryTransfers::DropCreatedBy(absl::string_view handle, uint32_t device_id) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, t] : transfers_) {
    if (t.handle == handle && t.created_by == device_id) gone.push_back(id);
  }
  for (const std::string& id : gone) Erase(id);
}

size_t HistoryTransfers::size() {
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  return transfers_.size();
}

uint64_t HistoryTransfers::spool_bytes() {
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  return spool_bytes_;
}

}  // namespace sotto::server
