#ifndef SOTTO_SERVER_RPC_UNARY_H_
#define SOTTO_SERVER_RPC_UNARY_H_

// The shape every authenticated unary handler shares (internal to
// server/rpc): authenticate, run `body(caller)` (validate, call the domain,
// fill the response), map its status, Finish.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "server/domain/accounts.h"
#include "server/rpc/auth.h"
#include "server/rpc/status_mapping.h"

namespace sotto::server::rpc {

template <typename Body>
grpc::ServerUnaryReactor* AuthenticatedUnary(grpc::CallbackServerContext* context,
                                             Accounts& accounts, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<AuthenticatedDevice> caller = AuthenticateCall(*context, accounts);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(body(*caller)));
  return reactor;
}

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_UNARY_H_
