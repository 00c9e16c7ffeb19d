#ifndef SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
#define SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_

#include "server/domain/accounts.h"
#include "sotto/v1/accounts.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Accounts. Does not own `accounts`, which must outlive the server.
class AccountsService final : public sotto::v1::Accounts::CallbackService {
 public:
  explicit AccountsService(Accounts* accounts) : accounts_(accounts) {}
  AccountsService(const AccountsService&) = delete;
  AccountsService& operator=(const AccountsService&) = delete;

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const sotto::v1::RegisterRequest* request,
                                     sotto::v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const sotto::v1::WhoAmIRequest* request,
                                   sotto::v1::WhoAmIResponse* response) override;

 private:
  Accounts* const accounts_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
