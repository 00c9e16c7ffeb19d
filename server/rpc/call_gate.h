#ifndef SOTTO_SERVER_RPC_CALL_GATE_H_
#define SOTTO_SERVER_RPC_CALL_GATE_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/last_seen.h"
#include "server/domain/rate_limiter.h"
#include "server/rpc/blocking_pool.h"
#include "server/storage/store.h"

namespace sotto::server::rpc {

// What every handler passes through before the domain (internal to
// server/rpc): authentication with a per-source limit on failures, rate
// limits, the audit records of both, and the pool that runs handlers'
// blocking work (unary.h). Thread-safe. Does not own its arguments.
class CallGate {
 public:
  // `durable` is the store the domain writes through (its WhenDurable
  // covers `audit`'s writes).
  // `last_seen` (may be null) is told of every authenticated call.
  CallGate(Accounts* accounts, AuditLog* audit, Store* durable, RateLimits* limits,
           BlockingPool* pool, LastSeen* last_seen = nullptr)
      : accounts_(accounts),
        audit_(audit),
        durable_(durable),
        limits_(limits),
        pool_(pool),
        last_seen_(last_seen) {}
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // Authenticates the call (auth.h's AuthenticateCall). The credentials are
  // always checked: a device that proves its secret is served whatever
  // others did from its address (a clinic's NAT). A failure is counted
  // against the address and audited; once the address has used up its
  // failed-authentication budget, its failures are answered
  // RESOURCE_EXHAUSTED (retry time in the message and a RetryInfo detail)
  // instead of UNAUTHENTICATED, and no longer audited one by one.
  absl::StatusOr<AuthenticatedDevice> Authenticate(const grpc::CallbackServerContext& context);

  // Takes a token from `limiter` under `key` (with `take` false only checks
  // that one is there); a refusal is returned. The
  // 1st, 10th, 100th, ... refusal since the key's last success is audited
  // (actor, `what`, how many so far, `call`'s source): one entry per
  // episode, and its scale.
  absl::Status Limit(RateLimiter& limiter, absl::string_view key, absl::string_view actor,
                     absl::string_view subject, absl::string_view what, const CallContext& call,
                     bool take = true);

  // Writes `event` to the audit log without waiting for the disk (the
  // store's group sync puts it there): a refused call must not
  // hold a gRPC thread for an fsync. A failure to audit is reported on
  // stderr; the call it describes has already been refused or made.
  void Audit(const AuditEvent& event, const CallContext& call);

  Accounts& accounts() { return *accounts_; }
  RateLimits& limits() { return *limits_; }
  BlockingPool& pool() { return *pool_; }

 private:
  Accounts* const accounts_;
  AuditLog* const audit_;
  Store* const durable_;
  RateLimits* const limits_;
  BlockingPool* const pool_;
  LastSeen* const last_seen_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CALL_GATE_H_
