#ifndef SOTTO_SERVER_OPERATOR_DATABASE_OPERATOR_H_
#define SOTTO_SERVER_OPERATOR_DATABASE_OPERATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/app/key_files.h"
#include "server/domain/audit_log.h"
#include "server/operator/operator_backend.h"
#include "server/storage/store.h"

namespace sotto::server {

// The operator commands directly on the database in `data_dir`, for when no
// server runs there. Each call opens the database and closes it again:
// read-write for enrolment and (de)activation, through the audit chain as in
// the server; read-only for the audit trail, which works even while a server
// holds the lock. Writes go through the audit chain with its key file, and
// enrolment codes are stored under the code pepper (key_files.h), both
// created if missing as the server would. Errors: NOT_FOUND "no data
// directory DIR"; those of the key files;
// FAILED_PRECONDITION when a running server holds the database (the message
// says to restart it, which recreates its socket); those of the store.
// Not thread-safe.
class DatabaseOperator final : public OperatorBackend {
 public:
  // Empty paths in `keys`: the defaults beside `data_dir`.
  DatabaseOperator(std::string data_dir, const KeyFilePaths& keys);
  DatabaseOperator(const DatabaseOperator&) = delete;
  DatabaseOperator& operator=(const DatabaseOperator&) = delete;

  absl::StatusOr<IssuedCode> IssueEnrolmentCode(const std::string& handle,
                                                uint32_t valid_hours) override;
  absl::Status SetDeactivated(const std::string& handle, bool deactivated) override;
  // Always FAILED_PRECONDITION "no server is running on DIR ...".
  absl::StatusOr<sotto::v1::StatsResponse> Stats() override;
  absl::Status ForEachAuditEntry(const std::function<absl::Status(const KeyValue&)>& fn) override;
  absl::StatusOr<TakenCheckpoint> Checkpoint() override;
  absl::Status ForEachUser(const std::function<absl::Status(const UserSummary&)>& fn) override;
  bool ServerRunning() const override { return false; }

 private:
  absl::StatusOr<std::unique_ptr<Store>> OpenStore(bool read_only) const;

  absl::StatusOr<std::unique_ptr<AuditLog>> OpenAudit(Store* store) const;

  std::string data_dir_;
  KeyFilePaths keys_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_OPERATOR_DATABASE_OPERATOR_H_
