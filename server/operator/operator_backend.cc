#include "server/operator/operator_backend.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <system_error>

#include "server/operator/database_operator.h"
#include "server/operator/socket_operator.h"
#include "server/rpc/server.h"

namespace sotto::server {
namespace {

// A live server accepts a connection on its socket at once; a stale socket
// (its server gone) refuses it at once. Only a hung server takes the whole
// wait, and then the database, locked by it, says so.
constexpr std::chrono::seconds kProbeTimeout(5);

// True once `channel` is connected; false when connecting failed or took
// longer than kProbeTimeout.
bool Connects(grpc::Channel& channel) {
  const auto deadline = std::chrono::system_clock::now() + kProbeTimeout;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (true) {
    if (state == GRPC_CHANNEL_READY) return true;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state, deadline)) return false;
    state = channel.GetState(/*try_to_connect=*/true);
  }
}

}  // namespace

std::string OperatorSocketPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / rpc::kOperatorSocketName).string();
}

std::unique_ptr<OperatorBackend> OpenOperatorBackend(const std::string& data_dir,
                                                     const KeyFilePaths& keys) {
  const std::string socket = OperatorSocketPath(data_dir);
  std::error_code ec;
  if (std::filesystem::exists(socket, ec)) {
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
    if (Connects(*channel)) return std::make_unique<SocketOperator>(std::move(channel), data_dir);
  }
  return std::make_unique<DatabaseOperator>(data_dir, keys);
}

}  // namespace sotto::server
