#ifndef SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
#define SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/care.h"
#include "sotto/v1/accounts.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Accounts. Registration goes through Care (enrolment and invite
// codes). Does not own its arguments, which must outlive the server.
class AccountsService final : public sotto::v1::Accounts::CallbackService {
 public:
  AccountsService(Accounts* accounts, Care* care) : accounts_(accounts), care_(care) {}
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
  Care* const care_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
