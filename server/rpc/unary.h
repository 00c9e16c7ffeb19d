#ifndef SOTTO_SERVER_RPC_UNARY_H_
#define SOTTO_SERVER_RPC_UNARY_H_

// The shape every authenticated unary handler shares (internal to
// server/rpc): authenticate, run `body(caller)` (validate, call the domain,
// fill the response), map its status, Finish.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "server/domain/accounts.h"
#include "server/rpc/auth.h"
#include "server/rpc/call_gate.h"
#include "server/rpc/status_mapping.h"

namespace sotto::server::rpc {

template <typename Body>
grpc::ServerUnaryReactor* AuthenticatedUnary(grpc::CallbackServerContext* context,
                                             CallGate& gate, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Audit entries written by the body name the caller's address.
  ScopedAuditSource audit_source(PeerAddress(*context));
  absl::StatusOr<AuthenticatedDevice> caller = gate.Authenticate(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(body(*caller)));
  return reactor;
}

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_UNARY_H_
