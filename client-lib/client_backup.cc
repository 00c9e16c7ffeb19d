// sotto::Client: Backup and Restore (sotto/backup.h, docs/BACKUP.md). The
// file format, what goes into it and the file's creation (owner-only,
// complete or absent) are in client-lib/backup/; here is what a restored
// device does on the network so that the exchange goes on.

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client-lib/backup/backup_file.h"
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

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

// A restored device has no sessions (profile_backup.h says why) and the
// server may hold one-time prekeys the lost device published after the
// backup, whose private halves the restore does not have: it publishes a new
// signed prekey and a fresh stock of one-time prekeys that REPLACES the
// server's (UploadKeysRequest.replace_one_time_prekeys), so that a contact
// who starts a session from the key directory meets only keys this device
// holds. Then it starts a session with every linked contact by sending an
// empty delivery receipt (it lists no message, so the contact's client
// stores nothing and shows nothing). The contact's client takes the new
// session (a PreKey message from the same, already trusted identity key: no
// notice) and replies on it from then on.
absl::Status StartOver(client::ProfileSession& s, Client& client, int& started) {
  v1::UploadKeysRequest upload;
  upload.set_replace_one_time_prekeys(true);
  {
    absl::MutexLock lock(&s.mu);
    SOTTO_RETURN_IF_ERROR(s.CheckNotLocked());
    SOTTO_ASSIGN_OR_RETURN(auto fresh, s.engine().RotateSignedPreKey(s.NowMs()));
    client::FillSignedPreKey(fresh, upload.mutable_keys()->mutable_signed_prekey());
    SOTTO_ASSIGN_OR_RETURN(auto prekeys, s.engine().GeneratePreKeys(client::kPreKeyStock));
    client::FillPreKeys(prekeys, upload.mutable_keys());
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
  SOTTO_RETURN_IF_ERROR(session().Check());  // counts as use; locked: FAILED_PRECONDITION
  BackupResult result;
  result.recovery_key = client::backup::NewRecoveryKey();
  SOTTO_ASSIGN_OR_RETURN(std::string digits,
                         client::backup::NormalizeRecoveryKey(result.recovery_key));
  absl::StatusOr<BackupProgress> written = client::backup::WriteBackupFile(
      session(), out, client::backup::StreamKey::Recovery(digits), options.progress);
  std::fill(digits.begin(), digits.end(), '\0');
  if (!written.ok()) return written.status();
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
      options.backup_path, client::backup::StreamKey::Recovery(digits), options.profile_dir, options.passphrase,
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
