#ifndef SOTTO_SERVER_OPERATOR_SOCKET_OPERATOR_H_
#define SOTTO_SERVER_OPERATOR_SOCKET_OPERATOR_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "server/operator/operator_backend.h"
#include "sotto/v1/operator.grpc.pb.h"

namespace sotto::server {

// The operator commands through a running server's sotto.v1.Operator on its
// Unix socket. The server's errors come back with their codes and messages.
// Every call has a deadline (10 s; 30 s per audit page). Not thread-safe.
class SocketOperator final : public OperatorBackend {
 public:
  // `channel`: to "unix:DATA_DIR/operator.sock"; `data_dir` names the
  // server in messages.
  SocketOperator(std::shared_ptr<grpc::Channel> channel, std::string data_dir);
  SocketOperator(const SocketOperator&) = delete;
  SocketOperator& operator=(const SocketOperator&) = delete;

  absl::StatusOr<IssuedCode> IssueEnrolmentCode(const std::string& handle,
                                                uint32_t valid_hours) override;
  absl::Status SetDeactivated(const std::string& handle, bool deactivated) override;
  absl::StatusOr<sotto::v1::StatsResponse> Stats() override;
  absl::Status ForEachAuditEntry(const std::function<absl::Status(const KeyValue&)>& fn) override;
  absl::StatusOr<TakenCheckpoint> Checkpoint() override;
  absl::Status ForEachUser(const std::function<absl::Status(const UserSummary&)>& fn) override;
  bool ServerRunning() const override { return true; }

 private:
  std::unique_ptr<sotto::v1::Operator::Stub> stub_;
  std::string data_dir_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_OPERATOR_SOCKET_OPERATOR_H_
