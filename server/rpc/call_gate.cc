#include "server/rpc/call_gate.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/rpc/auth.h"
#include "sotto/log.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {

absl::StatusOr<AuthenticatedDevice> CallGate::Authenticate(
    const grpc::CallbackServerContext& context) {
  const std::string source = PeerAddress(context);
  // Checked even for an address over budget: a device secret has 256 random
  // bits, so the budget is not what stops guessing it, and refusing the
  // right secret unchecked would let one guesser lock out a whole NAT.
  absl::StatusOr<AuthenticatedDevice> caller = AuthenticateCall(context, *accounts_);
  if (caller.ok() && last_seen_ != nullptr) {
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    last_seen_->Saw(caller->handle, now_ms);
    last_seen_->SawDevice(caller->handle, caller->device_id, now_ms);
  }
  if (caller.ok() || caller.status().code() != absl::StatusCode::kUnauthenticated) {
    return caller;
  }
  // One step (on PostgreSQL one conditional write, shared by every node):
  // an empty bucket refuses, else this failure takes a token.
  bool emptied = false;
  absl::Status over_budget = limits_->failed_auth.Take(source, nullptr, &emptied);
  if (!over_budget.ok()) {
    if (over_budget.code() == absl::StatusCode::kResourceExhausted) {
      metrics::CountRefusal("failed_auth");
    }
    return over_budget;
  }
  // The claimed handle only (never the secret): it tells the operator whom
  // a guessing attack aims at.
  std::string claimed;
  auto range = context.client_metadata().equal_range(kAuthorizationKey);
  if (range.first != range.second) {
    absl::StatusOr<Credentials> creds = ParseAuthorization(
        absl::string_view(range.first->second.data(), range.first->second.size()));
    if (creds.ok() && Accounts::ValidateHandle(creds->handle).ok()) {
      claimed = absl::StrCat(creds->handle, ".", creds->device_id);
    }
  }
  AuditEvent event{audit::kAuthFailed, claimed, "", ""};
  if (!claimed.empty()) event.subject = claimed.substr(0, claimed.rfind('.'));
  const CallContext call{source};
  Audit(event, call);
  // A second refusal is not a new kind of event: audit when the address's
  // budget runs out, not every refusal after it.
  if (emptied) Audit({audit::kRateLimited, "", "", "limit=failed_auth"}, call);
  return caller;
}

absl::Status CallGate::Limit(RateLimiter& limiter, absl::string_view key, absl::string_view actor,
                             absl::string_view subject, absl::string_view what,
                             const CallContext& call, bool take) {
  uint64_t refusals = 0;
  absl::Status s = take ? limiter.Take(key, &refusals) : limiter.Check(key, &refusals);
  if (!s.ok()) metrics::CountRefusal(what);
  // The 1st, 10th, 100th, ... refusal of an episode: a flood of refused
  // calls must not become a flood of audit writes, but its scale is kept.
  uint64_t n = refusals;
  while (n >= 10 && n % 10 == 0) n /= 10;
  if (n == 1) {
    Audit({audit::kRateLimited, std::string(actor), std::string(subject),
           absl::StrCat("limit=", what, " refused=", refusals)},
          call);
  }
  return s;
}

void CallGate::Audit(const AuditEvent& event, const CallContext& call) {
  absl::Status s = audit_->Record(event, Durability::kBuffered, call);
  if (!s.ok()) {
    log::Error(absl::StrCat("cannot write audit entry ", event.type, ": ", s.message()));
    return;
  }
  durable_->WhenDurable([type = event.type](absl::Status synced) {
    if (!synced.ok()) {
      log::Error(absl::StrCat("audit entry ", type, " may not be on disk: ", synced.message()));
    }
  });
}

}  // namespace sotto::server::rpc
