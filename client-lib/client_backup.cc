// sotto::Client: Backup and Restore (sotto/backup.h, docs/BACKUP.md). The
// file format and what goes into it are in client-lib/backup/; here are the
// file's creation (owner-only, complete or absent) and what a restored
// device does on the network so that the exchange goes on.

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client-lib/backup/profile_backup.h"
#include "client-lib/backup/recovery_key.h"
#include "client-lib/content/codec.h"
#include "client-lib/keys/key_maintenance.h"
#include "client-lib/outgoing/delivery.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/backup.h"
#include "sotto/client.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

// The server keeps at most this many one-time prekeys per device
// (kMaxStoredPreKeys, Keys.Upload in keys.proto).
constexpr uint32_t kServerPreKeyLimit = 1000;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

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

// A restored device has no sessions (profile_backup.h says why) and the lost
// device may have used the prekeys the server still holds: it publishes a
// new signed prekey and fresh one-time prekeys, then starts a session with
// every linked contact by sending an empty delivery receipt (it lists no
// message, so the contact's client stores nothing and shows nothing). The
// contact's client takes the new session (a PreKey message from the same,
// already trusted identity key: no notice) and replies on it from then on.
absl::Status StartOver(client::ProfileSession& s, Client& client, int& started) {
  SOTTO_ASSIGN_OR_RETURN(v1::CountPreKeysResponse count, s.connection().CountPreKeys());
  v1::UploadKeysRequest upload;
  {
    absl::MutexLock lock(&s.mu);
    SOTTO_RETURN_IF_ERROR(s.CheckNotLocked());
    SOTTO_ASSIGN_OR_RETURN(auto fresh, s.engine().RotateSignedPreKey(s.NowMs()));
    client::FillSignedPreKey(fresh, upload.mutable_keys()->mutable_signed_prekey());
    const uint32_t room =
        kServerPreKeyLimit - std::min(kServerPreKeyLimit, count.one_time_prekey_count());
    if (const uint32_t n = std::min(client::kPreKeyStock, room); n > 0) {
      SOTTO_ASSIGN_OR_RETURN(auto prekeys, s.engine().GeneratePreKeys(n));
      client::FillPreKeys(prekeys, upload.mutable_keys());
    }
  }
  SOTTO_RETURN_IF_ERROR(s.connection().UploadKeys(upload).status());
  SOTTO_ASSIGN_OR_RETURN(std::vector<CareLink> links, client.ListLinks());
  absl::Status first_error;
  for (const CareLink& link : links) {
    if (!link.active) continue;
    v1::content::Content content;
    content.set_sent_at_ms(s.NowMs());
    content.mutable_receipt()->set_type(v1::content::Receipt::DELIVERED);
    client::Delivery delivery;
    delivery.header = {link.peer, RandomBytes(client::content::kMessageIdBytes), /*receipt=*/true,
                       0};
    delivery.plaintext = client::content::EncodeContent(content);
    absl::Status sent = client::Deliver(s, std::move(delivery)).status();
    if (sent.ok()) {
      ++started;
    } else if (first_error.ok()) {
      first_error = absl::Status(sent.code(), absl::StrCat("starting a new session with ",
                                                           link.peer, ": ", sent.message()));
    }
  }
  return first_error;
}

}  // namespace

absl::StatusOr<BackupResult> Client::Backup(const BackupOptions& options) {
  const std::string& out = options.out_path;
  if (out.empty()) return absl::InvalidArgumentError("a backup needs a file to write to");
  struct stat st {};
  if (lstat(out.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(out, " exists; a backup is written to a new file, never over another"));
  }
  BackupResult result;
  result.recovery_key = client::backup::NewRecoveryKey();
  SOTTO_ASSIGN_OR_RETURN(std::string digits,
                         client::backup::NormalizeRecoveryKey(result.recovery_key));
  const std::string tmp = absl::StrCat(out, ".partial-", absl::BytesToHexString(RandomBytes(6)));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("creating", tmp);
  fchmod(fd, 0600);  // whatever the umask did
  FILE* file = fdopen(fd, "wb");
  if (file == nullptr) {
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError("opening", tmp);
  }
  absl::StatusOr<BackupProgress> written;
  {
    client::ProfileSession& s = session();
    absl::MutexLock lock(&s.mu);
    if (absl::Status entered = s.Enter(); !entered.ok()) {
      written = entered;
    } else {
      written = client::backup::WriteBackup(s.store(), s.profile().handle(), file, digits,
                                            options.progress);
    }
  }
  absl::Status status = written.status();
  if (status.ok()) {
    status = Publish(file, tmp, out);
  } else {
    std::fclose(file);
  }
  unlink(tmp.c_str());
  std::fill(digits.begin(), digits.end(), '\0');
  if (!status.ok()) return status;
  result.written = *written;
  return result;
}

absl::StatusOr<RestoreResult> Client::Restore(const RestoreOptions& options) {
  if (options.profile_dir.empty()) {
    return absl::InvalidArgumentError("a restore needs a new profile directory");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("the restored profile needs a passphrase");
  }
  SOTTO_ASSIGN_OR_RETURN(std::string digits,
                         client::backup::NormalizeRecoveryKey(options.recovery_key));
  RestoreResult result;
  absl::StatusOr<uint64_t> records = client::backup::RestoreBackup(
      options.backup_path, digits, options.profile_dir, options.passphrase,
      options.key_derivation == KeyDerivation::kFastForTestsOnly, options.progress);
  std::fill(digits.begin(), digits.end(), '\0');
  SOTTO_RETURN_IF_ERROR(records.status());
  result.records = *records;
  OpenOptions open;
  open.profile_dir = options.profile_dir;
  open.passphrase = options.passphrase;
  open.server_address = options.server_address;
  open.tls_ca_pem = options.tls_ca_pem;
  open.tls_system_roots = options.tls_system_roots;
  open.auto_lock_after = options.auto_lock_after;
  open.clock = options.clock;
  absl::StatusOr<std::unique_ptr<Client>> client = Open(open);
  if (!client.ok()) {
    return absl::Status(
        client.status().code(),
        absl::StrCat("the backup was restored into ", options.profile_dir,
                     " but the profile does not open: ", client.status().message()));
  }
  result.client = *std::move(client);
  result.network_status =
      StartOver(result.client->session(), *result.client, result.sessions_started);
  return result;
}

}  // namespace sotto
