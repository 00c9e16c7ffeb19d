#include "client-lib/backup/profile_backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/backup/backup_records.h"
#include "client-lib/backup/backup_stream.h"
#include "client-lib/storage/big_endian.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/status_macros.h"

namespace sotto::client::backup {
namespace {

using storage::Space;

// Progress is reported this often (records), and at the end.
constexpr uint64_t kProgressEvery = 5000;
// Rows restored per LocalStore::Apply (each one synced write).
constexpr size_t kRestoreBatchRows = 2000;
// The restored device makes its one-time prekeys from this far past the
// backup's next id: the lost device may have published ids after the
// backup, and a contact holding one of those must not meet a different key
// under the same id.
constexpr uint32_t kPreKeyIdJump = 100000;
constexpr uint32_t kMaxKeyId = 0xFFFFFF;
constexpr char kNextPreKeyId[] = "next_prekey_id";  // signal/store_bridge.h

void Wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

std::string U64(uint64_t v) {
  std::string out;
  storage::PutU64(&out, v);
  return out;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

using RecordVisitor = std::function<absl::Status(Record&)>;

// The backup file, opened once for both passes of a restore (RewindBackup):
// the file checked in pass one is the file written from in pass two, even
// if `path` is renamed or replaced meanwhile.
using BackupFile = std::unique_ptr<FILE, FileCloser>;

absl::StatusOr<BackupFile> OpenBackup(const std::string& path) {
  BackupFile file(std::fopen(path.c_str(), "rbe"));
  if (!file) {
    const int err = errno;
    const std::string msg = absl::StrCat("cannot read the backup ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::FailedPreconditionError(msg);
  }
  return file;
}

// Back to the start of `file` for the second pass. A FIFO or pipe cannot be
// rewound: it is closed now and opened again by name for the second pass
// (its writer then writes the backup a second time), as before.
absl::Status RewindBackup(BackupFile& file, const std::string& path) {
  if (std::fseek(file.get(), 0, SEEK_SET) == 0) return absl::OkStatus();
  if (errno != ESPIPE) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the backup ", path, " again: ", std::strerror(errno)));
  }
  file.reset();
  return absl::OkStatus();
}

// One pass over the file from where it stands: every record before the end
// record to `visit`; checks the end record's count. Returns the number of
// records.
absl::StatusOr<uint64_t> ReadAll(FILE* file, const std::string& path, const StreamKey& key,
                                 const RecordVisitor& visit, const ProgressFn& progress) {
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<StreamReader> reader,
                         StreamReader::Open(file, path, key));
  std::string buffer, chunk;
  bool final = false, ended = false;
  uint64_t records = 0;
  while (!final) {
    SOTTO_RETURN_IF_ERROR(reader->Next(chunk, final));
    buffer += chunk;
    Wipe(chunk);
    for (;;) {
      SOTTO_ASSIGN_OR_RETURN(std::optional<Record> record, TakeRecord(buffer));
      if (!record) break;
      if (ended) {
        return absl::DataLossError(absl::StrCat(path, " is damaged: it has records after its end"));
      }
      if (record->kind == kEndKind) {
        if (record->value.size() != 8 || storage::GetU64(record->value) != records) {
          return absl::DataLossError(
              absl::StrCat(path, " is damaged: its record count does not match its records"));
        }
        ended = true;
        continue;
      }
      ++records;
      absl::Status visited = visit(*record);
      Wipe(record->value);
      SOTTO_RETURN_IF_ERROR(visited);
      if (progress && records % kProgressEvery == 0) progress({records, reader->bytes_read()});
    }
  }
  if (!ended || !buffer.empty()) {
    Wipe(buffer);
    return absl::DataLossError(absl::StrCat(path, " is damaged: it ends without its end record"));
  }
  if (progress) progress({records, reader->bytes_read()});
  return records;
}

// Pass one: what a record may be.
absl::Status CheckRecord(const std::string& path, const Record& r, bool& has_key) {
  if (r.kind == kFactKind) {
    if (r.key == kStoreKeyFact) {
      if (r.value.size() != storage::kKeyBytes) {
        return absl::DataLossError(
            absl::StrCat(path, " is damaged: its store key has ", r.value.size(), " bytes"));
      }
      has_key = true;
    }
    return absl::OkStatus();  // facts this version does not know are skipped
  }
  if (r.kind > static_cast<uint8_t>(storage::kLastSpace)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds records of a kind (", r.kind,
                                                      ") this Sotto does not know; restore it with "
                                                      "the Sotto that made it or a newer one"));
  }
  if (r.kind == static_cast<uint8_t>(Space::kSession)) {
    return absl::DataLossError(absl::StrCat(path,
                                            " is damaged: it holds Signal sessions, which "
                                            "a Sotto backup never does"));
  }
  return absl::OkStatus();
}

// The backup's next one-time prekey id, moved on by kPreKeyIdJump.
std::string JumpPreKeyId(absl::string_view value) {
  uint32_t next = 1;
  if (value.size() == 4) {
    next = (static_cast<uint32_t>(static_cast<uint8_t>(value[0])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(value[1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(value[2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(value[3]));
  }
  next = (next + kPreKeyIdJump - 1) % kMaxKeyId + 1;
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((next >> (24 - 8 * i)) & 0xff);
  return out;
}

// Pass two: the records into `store`, in batches.
absl::StatusOr<uint64_t> WriteInto(storage::LocalStore& store, FILE* file,
                                   const std::string& path, const StreamKey& key,
                                   const ProgressFn& progress) {
  std::vector<storage::Write> batch;
  auto apply = [&]() -> absl::Status {
    absl::Status s = store.Apply(batch);
    for (storage::Write& w : batch) {
      if (w.value) Wipe(*w.value);
    }
    batch.clear();
    return s;
  };
  auto visit = [&](Record& r) -> absl::Status {
    if (r.kind == kFactKind) return absl::OkStatus();
    const auto space = static_cast<Space>(r.kind);
    std::string value = space == Space::kMeta && r.key == kNextPreKeyId ? JumpPreKeyId(r.value)
                                                                        : std::move(r.value);
    batch.push_back(storage::Write{space, std::move(r.key), std::move(value)});
    return batch.size() >= kRestoreBatchRows ? apply() : absl::OkStatus();
  };
  SOTTO_ASSIGN_OR_RETURN(uint64_t records, ReadAll(file, path, key, visit, progress));
  SOTTO_RETURN_IF_ERROR(apply());
  return records;
}

// The staging directories of restores into `target` are named so.
constexpr char kStagingInfix[] = ".restoring-";

// `dir` without trailing separators, so that "DIR/" stages beside DIR, not in it.
std::filesystem::path TargetPath(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return std::filesystem::path(d);
}

// A restore goes into a directory that does not exist or is empty: the
// staging directory is renamed over it, which rename(2) allows only then.
absl::Status CheckNewOrEmpty(const std::filesystem::path& target) {
  std::error_code ec;
  if (!std::filesystem::exists(target, ec)) return absl::OkStatus();
  if (!std::filesystem::is_directory(target, ec) || !std::filesystem::is_empty(target, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        target.string(), " exists and is not an empty directory; restore into a new one"));
  }
  return absl::OkStatus();
}

std::filesystem::path StagingPath(const std::filesystem::path& target) {
  unsigned char random[6];
  randombytes_buf(random, sizeof random);
  std::string hex(2 * sizeof random + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), random, sizeof random);
  hex.pop_back();
  return target.parent_path() / absl::StrCat(target.filename().string(), kStagingInfix, hex);
}

// Staging directories a killed restore into `target` left. Their store is
// sealed under the passphrase given then, but nobody can open it as a
// profile: it is removed, not resumed.
void RemoveStaleStaging(const std::filesystem::path& target) {
  const std::string prefix = target.filename().string() + kStagingInfix;
  std::filesystem::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.is_directory(ec)) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

// Renames the complete staging store to `target` (rename(2) replaces only a
// missing or empty directory: a profile that appeared meanwhile is kept),
// then syncs the parent directory so that the name survives a power cut.
absl::StatusOr<uint64_t> MoveIntoPlace(const std::filesystem::path& staging,
                                       const std::filesystem::path& target, uint64_t records) {
  if (std::rename(staging.c_str(), target.c_str()) != 0) {
    const int err = errno;
    const std::string msg =
        absl::StrCat("moving the restored profile into ", target.string(), ": ", std::strerror(err));
    return err == ENOTEMPTY || err == EEXIST || err == ENOTDIR
               ? absl::AlreadyExistsError(msg)
               : absl::InternalError(msg);
  }
  std::filesystem::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  const int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  return records;
}

}  // namespace

absl::StatusOr<BackupProgress> WriteBackup(storage::StoreSnapshot& snapshot,
                                           const std::string& handle, FILE* file,
                                           const StreamKey& key, const ProgressFn& progress) {
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<StreamWriter> writer, StreamWriter::Start(file, key));
  std::string buffer;
  uint64_t records = 0;
  AppendRecord(kFactKind, kStoreKeyFact,
               absl::string_view(reinterpret_cast<const char*>(snapshot.data_key().data()),
                                 storage::kKeyBytes),
               buffer);
  AppendRecord(kFactKind, kHandleFact, handle, buffer);
  records = 2;
  auto flush = [&]() -> absl::Status {
    absl::Status s = writer->Write(buffer);
    Wipe(buffer);
    return s;
  };
  for (int s = 1; s <= static_cast<int>(storage::kLastSpace); ++s) {
    const auto space = static_cast<Space>(s);
    if (space == Space::kSession) continue;  // see profile_backup.h
    SOTTO_RETURN_IF_ERROR(snapshot.ForEachRow(
        space, [&](absl::string_view key, absl::string_view value) -> absl::Status {
          AppendRecord(static_cast<uint8_t>(s), key, value, buffer);
          ++records;
          if (progress && records % kProgressEvery == 0) {
            progress({records, writer->bytes_written()});
          }
          return buffer.size() >= kChunkBytes ? flush() : absl::OkStatus();
        }));
  }
  AppendRecord(kEndKind, "end", U64(records), buffer);
  SOTTO_RETURN_IF_ERROR(flush());
  SOTTO_RETURN_IF_ERROR(writer->Finish());
  BackupProgress done{records, writer->bytes_written()};
  if (progress) progress(done);
  return done;
}

absl::StatusOr<uint64_t> RestoreBackup(const std::string& path, const StreamKey& key,
                                       const std::string& dir, const std::string& passphrase,
                                       bool fast_kdf, const ProgressFn& progress) {
  const std::filesystem::path target = TargetPath(dir);
  if (storage::EncryptedStoreExists(target.string())) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir, " holds a profile already; restore into a new directory"));
  }
  SOTTO_RETURN_IF_ERROR(CheckNewOrEmpty(target));
  SOTTO_ASSIGN_OR_RETURN(BackupFile file, OpenBackup(path));
  // Pass one: the whole file checked, nothing written.
  storage::SecretKey data_key;
  bool has_key = false;
  auto check = [&](Record& r) -> absl::Status {
    SOTTO_RETURN_IF_ERROR(CheckRecord(path, r, has_key));
    if (r.kind == kFactKind && r.key == kStoreKeyFact) {
      std::memcpy(data_key.data(), r.value.data(), storage::kKeyBytes);
    }
    return absl::OkStatus();
  };
  SOTTO_RETURN_IF_ERROR(ReadAll(file.get(), path, key, check, progress).status());
  if (!has_key) {
    return absl::DataLossError(absl::StrCat(path, " is damaged: it holds no store key"));
  }
  SOTTO_RETURN_IF_ERROR(RewindBackup(file, path));
  // Pass two: into a new store under a staging name beside the target,
  // renamed into place only once complete and closed. A restore killed
  // midway (power cut, SIGKILL) leaves only the staging directory, which the
  // next restore into the same target removes; the target never holds a
  // partial profile that would open.
  RemoveStaleStaging(target);
  const std::filesystem::path staging = StagingPath(target);
  const storage::KdfLimits limits =
      fast_kdf ? storage::KdfLimits::ForTesting() : storage::KdfLimits::Interactive();
  absl::StatusOr<uint64_t> records;
  {
    absl::StatusOr<std::unique_ptr<storage::LocalStore>> store =
        storage::CreateEncryptedStoreWithDataKey(staging.string(), passphrase, data_key, limits);
    if (store.ok() && !file) {
      absl::StatusOr<BackupFile> reopened = OpenBackup(path);  // a FIFO (RewindBackup)
      if (reopened.ok()) {
        file = std::move(*reopened);
      } else {
        records = reopened.status();
      }
    }
    if (store.ok() && file) {
      records = WriteInto(**store, file.get(), path, key, progress);
    } else if (!store.ok()) {
      records = store.status();
    }
  }
  if (records.ok()) records = MoveIntoPlace(staging, target, *records);
  if (!records.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);  // holds nothing that is not in the file
  }
  return records;
}

}  // namespace sotto::client::backup
