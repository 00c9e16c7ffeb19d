#ifndef SOTTO_SERVER_RPC_OPERATOR_SERVICE_H_
#define SOTTO_SERVER_RPC_OPERATOR_SERVICE_H_

#include <string>

#include "server/app/key_files.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/enrolment.h"
#include "server/domain/last_seen.h"
#include "server/rpc/blocking_pool.h"
#include "server/rpc/server_stats.h"
#include "server/storage/store.h"
#include "sotto/v1/operator.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Operator. Registered only on the operator's Unix socket
// (DATA_DIR/operator.sock, 0600 in a 0700 directory): whoever can connect
// can already read the database, so there is no further authentication.
// Never register it on the network port. Does not own `enrolment`.
class OperatorService final : public sotto::v1::Operator::CallbackService {
 public:
  // `data_dir` and `key_files` (resolved): this server's, named in a
  // Checkpoint's answer.
  OperatorService(Enrolment* enrolment, AuditLog* audit, Accounts* accounts,
                  const ServerStats* stats, Store* durable, const BlockingPool* pool,
                  const LastSeen* last_seen, std::string data_dir, KeyFilePaths key_files)
      : enrolment_(enrolment),
        audit_(audit),
        accounts_(accounts),
        stats_(stats),
        durable_(durable),
        pool_(pool),
        last_seen_(last_seen),
        data_dir_(std::move(data_dir)),
        key_files_(std::move(key_files)) {}
  OperatorService(const OperatorService&) = delete;
  OperatorService& operator=(const OperatorService&) = delete;

  grpc::ServerUnaryReactor* EnrolTherapist(grpc::CallbackServerContext* context,
                                           const sotto::v1::EnrolTherapistRequest* request,
                                           sotto::v1::EnrolTherapistResponse* response) override;
  grpc::ServerUnaryReactor* ReadAudit(grpc::CallbackServerContext* context,
                                      const sotto::v1::ReadAuditRequest* request,
                                      sotto::v1::ReadAuditResponse* response) override;
  grpc::ServerUnaryReactor* DeactivateAccount(grpc::CallbackServerContext* context,
                                              const sotto::v1::AccountActionRequest* request,
                                              sotto::v1::AccountActionResponse* response) override;
  grpc::ServerUnaryReactor* ReactivateAccount(grpc::CallbackServerContext* context,
                                              const sotto::v1::AccountActionRequest* request,
                                              sotto::v1::AccountActionResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const sotto::v1::StatsRequest* request,
                                  sotto::v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* Checkpoint(grpc::CallbackServerContext* context,
                                       const sotto::v1::CheckpointRequest* request,
                                       sotto::v1::CheckpointResponse* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const sotto::v1::ListUsersRequest* request,
                                      sotto::v1::ListUsersResponse* response) override;

 private:
  Enrolment* const enrolment_;
  AuditLog* const audit_;
  Accounts* const accounts_;
  const ServerStats* const stats_;
  Store* const durable_;  // for its DurabilityStats and Checkpoint
  const BlockingPool* const pool_;
  const LastSeen* const last_seen_;  // for ListUsers
  const std::string data_dir_;
  const KeyFilePaths key_files_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_OPERATOR_SERVICE_H_
