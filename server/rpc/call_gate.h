#ifndef SOTTO_SERVER_RPC_CALL_GATE_H_
#define SOTTO_SERVER_RPC_CALL_GATE_H_

#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/rate_limiter.h"
#include "server/rpc/blocking_pool.h"
#include "server/storage/log_syncer.h"

namespace sotto::server::rpc {

// What every handler passes through before the domain (internal to
// server/rpc): authentication with a per-source limit on failures, rate
// limits, the audit records of both, and the pool that runs handlers'
// blocking work (unary.h). Thread-safe. Does not own its arguments.
class CallGate {
 public:
  CallGate(Accounts* accounts, AuditLog* audit, LogSyncer* syncer, RateLimits* limits,
           BlockingPool* pool)
      : accounts_(accounts), audit_(audit), syncer_(syncer), limits_(limits), pool_(pool) {}
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // Authenticates the call (auth.h's AuthenticateCall). Refuses with
  // RESOURCE_EXHAUSTED (retry time in the message and a RetryInfo detail)
  // while the caller's address has used up its failed-authentication budget,
  // without checking the credentials. A failure is audited and counted
  // against the address.
  absl::StatusOr<AuthenticatedDevice> Authenticate(const grpc::CallbackServerContext& context);

  // Takes a token from `limiter` under `key`; a refusal is returned. The
  // 1st, 10th, 100th, ... refusal since the key's last success is audited
  // (actor, `what`, how many so far): one entry per episode, and its scale.
  absl::Status Limit(RateLimiter& limiter, absl::string_view key, absl::string_view actor,
                     absl::string_view subject, absl::string_view what);

  // Writes `event` to the audit log without waiting for the disk (the log
  // syncer puts it there within one group sync): a refused call must not
  // hold a gRPC thread for an fsync. A failure to audit is reported on
  // stderr; the call it describes has already been refused or made.
  void Audit(const AuditEvent& event);

  Accounts& accounts() { return *accounts_; }
  RateLimits& limits() { return *limits_; }
  BlockingPool& pool() { return *pool_; }

 private:
  Accounts* const accounts_;
  AuditLog* const audit_;
  LogSyncer* const syncer_;
  RateLimits* const limits_;
  BlockingPool* const pool_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CALL_GATE_H_
