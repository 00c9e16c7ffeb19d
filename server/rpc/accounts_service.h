#ifndef SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
#define SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/attempt_limiter.h"
#include "server/domain/care.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/accounts.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Accounts. Registration goes through Care (enrolment and invite
// codes), code first. Every failed Register counts in `code_attempts`
// against its source address and claimed handle; past that budget its
// failures are answered RESOURCE_EXHAUSTED, while a right code still
// registers (AttemptLimiter::Admit). Does not own its arguments, which must
// outlive the server.
class AccountsService final : public sotto::v1::Accounts::CallbackService {
 public:
  AccountsService(CallGate* gate, Care* care, AttemptLimiter* code_attempts, Clock* clock)
      : gate_(gate),
        accounts_(&gate->accounts()),
        care_(care),
        code_attempts_(code_attempts),
        clock_(clock) {}
  AccountsService(const AccountsService&) = delete;
  AccountsService& operator=(const AccountsService&) = delete;

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const sotto::v1::RegisterRequest* request,
                                     sotto::v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const sotto::v1::WhoAmIRequest* request,
                                   sotto::v1::WhoAmIResponse* response) override;
  grpc::ServerUnaryReactor* DeleteAccount(grpc::CallbackServerContext* context,
                                          const sotto::v1::DeleteAccountRequest* request,
                                          sotto::v1::DeleteAccountResponse* response) override;

 private:
  CallGate* const gate_;
  Accounts* const accounts_;
  Care* const care_;
  AttemptLimiter* const code_attempts_;
  Clock* const clock_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_ACCOUNTS_SERVICE_H_
