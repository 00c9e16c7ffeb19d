#ifndef SOTTO_SERVER_RPC_CARE_SERVICE_H_
#define SOTTO_SERVER_RPC_CARE_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/attempt_limiter.h"
#include "server/domain/care.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/care.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Care: invites, care links and response policies. Does not own its
// arguments, which must outlive the server.
class CareService final : public sotto::v1::Care::CallbackService {
 public:
  // AcceptInvite's wrong codes count in `code_attempts` against the
  // caller's account (not its address); past that budget they are answered
  // RESOURCE_EXHAUSTED, while a right code still links.
  CareService(CallGate* gate, Care* care, AttemptLimiter* code_attempts)
      : gate_(gate), accounts_(&gate->accounts()), care_(care), code_attempts_(code_attempts) {}
  CareService(const CareService&) = delete;
  CareService& operator=(const CareService&) = delete;

  grpc::ServerUnaryReactor* CreateInvite(grpc::CallbackServerContext* context,
                                         const sotto::v1::CreateInviteRequest* request,
                                         sotto::v1::CreateInviteResponse* response) override;
  grpc::ServerUnaryReactor* AcceptInvite(grpc::CallbackServerContext* context,
                                         const sotto::v1::AcceptInviteRequest* request,
                                         sotto::v1::AcceptInviteResponse* response) override;
  grpc::ServerUnaryReactor* ListInvites(grpc::CallbackServerContext* context,
                                        const sotto::v1::ListInvitesRequest* request,
                                        sotto::v1::ListInvitesResponse* response) override;
  grpc::ServerUnaryReactor* ListLinks(grpc::CallbackServerContext* context,
                                      const sotto::v1::ListLinksRequest* request,
                                      sotto::v1::ListLinksResponse* response) override;
  grpc::ServerUnaryReactor* EndLink(grpc::CallbackServerContext* context,
                                    const sotto::v1::EndLinkRequest* request,
                                    sotto::v1::EndLinkResponse* response) override;
  grpc::ServerUnaryReactor* SetPolicy(grpc::CallbackServerContext* context,
                                      const sotto::v1::SetPolicyRequest* request,
                                      sotto::v1::SetPolicyResponse* response) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const sotto::v1::GetPolicyRequest* request,
                                      sotto::v1::GetPolicyResponse* response) override;

 private:
  CallGate* const gate_;
  Accounts* const accounts_;
  Care* const care_;
  AttemptLimiter* const code_attempts_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CARE_SERVICE_H_
