#include "server/operator/database_operator.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/app/backup.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/storage/rocksdb_store.h"

namespace sotto::server {
namespace {

constexpr size_t kAuditPage = 1000;

}  // namespace

DatabaseOperator::DatabaseOperator(std::string data_dir, const KeyFilePaths& keys)
    : data_dir_(std::move(data_dir)), keys_(ResolveKeyFilePaths(data_dir_, keys)) {}

absl::StatusOr<std::unique_ptr<AuditLog>> DatabaseOperator::OpenAudit(Store* store) const {
  return AuditLog::Open(store, SystemClock::Get(), AuditKeyFile(keys_.audit_key));
}

absl::StatusOr<std::unique_ptr<Store>> DatabaseOperator::OpenStore(bool read_only) const {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir_, ec)) {
    return absl::NotFoundError("no data directory " + data_dir_);
  }
  RocksDbStoreOptions options;
  options.read_only = read_only;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(data_dir_, options);
  // We are here because nothing answered on the socket; a server that holds
  // the lock but has lost its socket gets it back only by a restart.
  if (!store.ok() && !read_only && store.status().code() == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database in ", data_dir_, " is locked by a running server, and its operator socket ",
        OperatorSocketPath(data_dir_),
        " is missing or does not answer; restart that server (it recreates the socket) and try "
        "again"));
  }
  return store;
}

absl::StatusOr<IssuedCode> DatabaseOperator::IssueEnrolmentCode(const std::string& handle,
                                                                uint32_t valid_hours) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(/*read_only=*/false);
  if (!store.ok()) return store.status();
  // Through the audit chain, as in the server: the code's issue is audited.
  auto audit = OpenAudit(store->get());
  if (!audit.ok()) return audit.status();
  absl::StatusOr<SecretKey> pepper = LoadKeyFile(keys_.code_pepper, /*create=*/true);
  if (!pepper.ok()) return pepper.status();
  Accounts accounts(audit->get());
  Enrolment enrolment(audit->get(), &accounts, SystemClock::Get(), *std::move(pepper));
  return enrolment.IssueTherapistCode(handle, valid_hours);
}

absl::Status DatabaseOperator::SetDeactivated(const std::string& handle, bool deactivated) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(/*read_only=*/false);
  if (!store.ok()) return store.status();
  auto audit = OpenAudit(store->get());
  if (!audit.ok()) return audit.status();
  Accounts accounts(audit->get());
  return accounts.SetDeactivated(handle, deactivated);
}

absl::StatusOr<sotto::v1::StatsResponse> DatabaseOperator::Stats() {
  return absl::FailedPreconditionError(absl::StrCat("no server is running on ", data_dir_,
                                                    " (nothing answers on ",
                                                    OperatorSocketPath(data_dir_), ")"));
}

absl::Status DatabaseOperator::ForEachAuditEntry(
    const std::function<absl::Status(const KeyValue&)>& fn) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(/*read_only=*/true);
  if (!store.ok()) return store.status();
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<KeyValue>> rows =
        (*store)->Scan(Table::kAudit, "", after, kAuditPage);
    if (!rows.ok()) return rows.status();
    for (const KeyValue& row : *rows) {
      absl::Status s = fn(row);
      if (!s.ok()) return s;
    }
    if (rows->size() < kAuditPage) return absl::OkStatus();
    after = rows->back().key;
  }
}

absl::StatusOr<TakenCheckpoint> DatabaseOperator::Checkpoint() {
  // Read-write: a checkpoint flushes the memtables first. The lock also
  // keeps a server from starting on the database meanwhile.
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(/*read_only=*/false);
  if (!store.ok()) return store.status();
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(NewCheckpointDir(data_dir_), ec).string();
  absl::Status s = (*store)->Checkpoint(dir);
  if (!s.ok()) return s;
  return TakenCheckpoint{dir, keys_};
}

absl::Status DatabaseOperator::ForEachUser(
    const std::function<absl::Status(const UserSummary&)>& fn) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(/*read_only=*/true);
  if (!store.ok()) return store.status();
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<UserSummary>> users = ListUsers(store->get(), after, kAuditPage);
    if (!users.ok()) return users.status();
    for (const UserSummary& user : *users) {
      absl::Status s = fn(user);
      if (!s.ok()) return s;
    }
    if (users->size() < kAuditPage) return absl::OkStatus();
    after = users->back().handle;
  }
}

}  // namespace sotto::server
