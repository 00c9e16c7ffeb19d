#ifndef SOTTO_SERVER_RPC_UNARY_H_
#define SOTTO_SERVER_RPC_UNARY_H_

// The shape the unary handlers share (internal to server/rpc): the
// handler thread only queues the work on the server's BlockingPool and
// returns; a pool worker authenticates, runs the body (validate, call the
// domain, fill the response), maps its status and Finishes. Send is the
// exception: on RocksDB it never waits for the disk and stays on gRPC's
// thread; on PostgreSQL it queues on the pool the same way, in
// messages_service.cc, so that a full queue is counted as a refused Send.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "server/domain/accounts.h"
#include "server/rpc/auth.h"
#include "server/rpc/blocking_pool.h"
#include "server/rpc/call_gate.h"
#include "server/rpc/status_mapping.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {

// Runs `body(reactor)` on `pool`; the body Finishes the call itself,
// exactly once, now or later from another thread (a Send is acknowledged
// after the group commit's log sync). gRPC keeps `context` and the request
// and response alive until Finish, so `body` may capture those pointers (by
// value: the handler's frame is gone when it runs) and must not touch them
// afterwards. A full queue fails the call at once with RESOURCE_EXHAUSTED;
// a call cancelled while queued (client gone, server shutting down) is
// Finished CANCELLED without running `body`.
template <typename Body>
grpc::ServerUnaryReactor* OffloadUnaryFinishing(grpc::CallbackServerContext* context,
                                                BlockingPool& pool, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = pool.TrySubmit([context, reactor, body = std::move(body)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled before it ran"));
      return;
    }
    body(reactor);
  });
  if (!queued) {
    metrics::CountRefusal("io_queue");
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server busy; retry"));
  }
  return reactor;
}

// OffloadUnaryFinishing for a body that returns the call's grpc::Status.
template <typename Body>
grpc::ServerUnaryReactor* OffloadUnary(grpc::CallbackServerContext* context, BlockingPool& pool,
                                       Body body) {
  return OffloadUnaryFinishing(context, pool,
                               [body = std::move(body)](grpc::ServerUnaryReactor* reactor) mutable {
                                 reactor->Finish(body());
                               });
}

// OffloadUnary for the usual shape: authenticate, then `body(caller, call)`
// returning absl::Status, where `call` carries the caller's address into the
// domain (the audit trail's source).
template <typename Body>
grpc::ServerUnaryReactor* AuthenticatedUnary(grpc::CallbackServerContext* context, CallGate& gate,
                                             Body body) {
  CallGate* const g = &gate;
  return OffloadUnary(context, gate.pool(),
                      [context, g, body = std::move(body)]() mutable -> grpc::Status {
                        absl::StatusOr<AuthenticatedDevice> caller = g->Authenticate(*context);
                        if (!caller.ok()) return ToGrpcStatus(caller.status());
                        const CallContext call{PeerAddress(*context)};
                        return ToGrpcStatus(body(*caller, call));
                      });
}

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_UNARY_H_
