#ifndef SOTTO_SERVER_DOMAIN_RATE_LIMITER_H_
#define SOTTO_SERVER_DOMAIN_RATE_LIMITER_H_

// Token-bucket rate limits. A bucket per key (a source address, a device, a
// handle) holds up to `burst` tokens and regains `per_hour` of them an hour,
// continuously; an action takes one. An empty bucket refuses with
// RESOURCE_EXHAUSTED whose message says when to retry and which carries the
// wait as a payload (RetryAfterMs) that the RPC layer turns into a
// sotto.v1.RetryInfo detail. In memory (a restart refills every bucket),
// except a limiter given a shared store: its buckets are rows of
// Table::kLimits, so every sotto-server node on one PostgreSQL draws from
// the same bucket (docs/DEPLOYING.md says which limits are shared).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/shared_limit_store.h"
#include "server/domain/striped_mutex.h"
#include "server/storage/store.h"

namespace sotto::server {

struct BucketConfig {
  // Tokens a full bucket holds: how many actions may come at once.
  double burst = 1;
  // Tokens regained per hour. 0 disables the limit (every Take succeeds).
  double per_hour = 0;
};

// The limits the server applies, with their defaults; sotto-server takes
// each as a flag (--rate-NAME=BURST/PER_HOUR).
struct RateLimitOptions {
  // Successful registrations per source address. Only an account created
  // takes a token (it consumed a one-time code), so a caller without a
  // valid code cannot spend a neighbour's; once empty, Register from the
  // address is refused until it refills.
  BucketConfig registration{30, 120};
  // Failed authentications per source address. Once empty, a call from that
  // address whose credentials fail is answered RESOURCE_EXHAUSTED instead of
  // UNAUTHENTICATED; a device that proves its secret is still served.
  BucketConfig failed_auth{20, 120};
  // GetBundle calls per requesting device.
  BucketConfig bundle_per_requester{200, 1200};
  // GetBundle calls per target handle that may hand out one-time prekeys.
  // Past it, bundles come without one-time prekeys (never an error).
  BucketConfig bundle_per_target{50, 200};
  // Send calls per sending device.
  BucketConfig sends_per_device{1000, 36000};
  // CreateInvite calls per therapist (limits.h).
  BucketConfig invites_per_therapist{kInviteBurst, kInvitesPerHour};
  // The unauthenticated calls of device linking (PostLinkRequest,
  // FetchLinkResponse, Link) per source address. A new device polls for
  // its provisioning message about once a second for a few seconds.
  BucketConfig link_relay{200, 2000};
  // CreateLinkSlot calls per account: a person links a phone now and then;
  // more would only fill the relay (each open slot may hold an answer).
  BucketConfig link_codes_per_account{10, 30};
};

// The wait carried by a RESOURCE_EXHAUSTED from a RateLimiter, if any.
std::optional<int64_t> RetryAfterMs(const absl::Status& status);
// RESOURCE_EXHAUSTED "<what>; retry after N s" carrying `retry_after_ms`.
absl::Status RateLimitedError(absl::string_view what, int64_t retry_after_ms);

// One family of buckets. Thread-safe. Does not own `clock`.
class RateLimiter {
 public:
  // Buckets kept at most; past it, full ones are forgotten (a full bucket
  // equals a new one), and if none is full the oldest-touched half goes,
  // which can only make the limiter more lenient, never lock anyone out.
  static constexpr size_t kMaxKeys = 100000;

  RateLimiter(Clock* clock, BucketConfig config, std::string what);
  // Keeps the buckets in `shared` (shared.store null: in memory, as above),
  // each row named by the blinded key (shared_limit_store.h), under `name` (unique among
  // the limiters of one database, the same on every node): each action is
  // a read and a conditional write of the key's row, retried when another
  // node wrote it meanwhile, so N nodes together allow what one does.
  // Storage errors are returned by Take and Check (the action is refused).
  RateLimiter(Clock* clock, BucketConfig config, std::string what, SharedLimitStore shared,
              std::string name);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from `key`'s bucket. OK, or RateLimitedError naming
  // `what` (nothing is taken then).
  // With `refusals`, sets it to which refusal this is since the key's last
  // success (1 for the first), 0 when OK: so a caller can audit an episode
  // once and its scale a few times, not every call.
  // With `emptied`, sets it to whether this Take took the last token.
  absl::Status Take(absl::string_view key, uint64_t* refusals = nullptr, bool* emptied = nullptr);
  // Like Take but takes nothing: OK if a token is available. A refusal
  // counts in `refusals` as Take's does.
  absl::Status Check(absl::string_view key, uint64_t* refusals = nullptr);
  // Takes a token if there is one (ending a refusal episode), else nothing;
  // never fails (a shared limiter's storage error is logged).
  void TakeIfAny(absl::string_view key);

  // A shared limiter: deletes the rows of buckets that have refilled (a
  // full bucket equals none); the leader's sweeper calls it. Returns how
  // many went. Without a shared store: 0.
  absl::StatusOr<size_t> SweepFull();

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
    uint64_t refused = 0;  // refusals since the last success
  };
  enum class Op { kTake, kCheck, kTakeIfAny };
  // The bucket of `key`, refilled to now; creates a full one.
  Bucket& Refill(absl::string_view key, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefillTo(Bucket& b, int64_t now) const;
  // Applies `op` to `b` (refilled): OK or the refusal.
  absl::Status Step(Bucket& b, Op op, uint64_t* refusals, bool* emptied) const;
  absl::Status Refused(const Bucket& b) const;
  void Trim(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Step on `key`'s row in shared_.
  absl::Status SharedStep(absl::string_view key, Op op, uint64_t* refusals, bool* emptied);
  std::string RowPrefix() const;

  Clock* const clock_;
  const BucketConfig config_;
  const std::string what_;
  Store* const shared_ = nullptr;
  const SharedLimitStore rows_;
  const std::string name_;
  // Serialises this node's actions on one row: a conditional write then
  // loses only to another node.
  StripedMutex row_locks_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// Every family the server uses, built from RateLimitOptions. With `shared`
// (several nodes on one PostgreSQL), the limit that stands between a
// guesser and a secret, failed_auth, keeps its buckets there, so the nodes
// together allow what one node does; the others bound throughput and stay
// per node (N nodes allow N times the rate: docs/DEPLOYING.md says why that
// is no hole). Code guesses are counted by AttemptLimiter, shared alike.
struct RateLimits {
  RateLimits(Clock* clock, const RateLimitOptions& options, SharedLimitStore shared = {})
      : registration(clock, options.registration, "too many registrations from this address"),
        failed_auth(clock, options.failed_auth, "too many failed authentications from this address",
                    shared, "failed_auth"),
        bundle_per_requester(clock, options.bundle_per_requester,
                             "too many key bundle requests from this device"),
        bundle_per_target(clock, options.bundle_per_target, "one-time prekey hand-outs"),
        sends_per_device(clock, options.sends_per_device, "too many sends from this device"),
        invites_per_therapist(clock, options.invites_per_therapist,
                              "too many invites created by this therapist"),
        link_relay(clock, options.link_relay, "too many device-linking calls from this address"),
        link_codes_per_account(clock, options.link_codes_per_account,
                               "too many link codes made for this account") {}
  RateLimiter registration;
  RateLimiter failed_auth;
  RateLimiter bundle_per_requester;
  RateLimiter bundle_per_target;
  RateLimiter sends_per_device;
  RateLimiter invites_per_therapist;
  RateLimiter link_relay;
  RateLimiter link_codes_per_account;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_RATE_LIMITER_H_
