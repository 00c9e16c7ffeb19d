#ifndef SOTTO_SERVER_DOMAIN_RATE_LIMITER_H_
#define SOTTO_SERVER_DOMAIN_RATE_LIMITER_H_

// Token-bucket rate limits. A bucket per key (a source address, a device, a
// handle) holds up to `burst` tokens and regains `per_hour` of them an hour,
// continuously; an action takes one. An empty bucket refuses with
// RESOURCE_EXHAUSTED whose message says when to retry and which carries the
// wait as a payload (RetryAfterMs) that the RPC layer turns into a
// sotto.v1.RetryInfo detail. In memory: a restart refills every bucket.

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
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from `key`'s bucket. OK, or RateLimitedError naming
  // `what` (nothing is taken then).
  // With `refusals`, sets it to which refusal this is since the key's last
  // success (1 for the first), 0 when OK: so a caller can audit an episode
  // once and its scale a few times, not every call.
  absl::Status Take(absl::string_view key, uint64_t* refusals = nullptr);
  // Like Take but takes nothing: OK if a token is available. A refusal
  // counts in `refusals` as Take's does.
  absl::Status Check(absl::string_view key, uint64_t* refusals = nullptr);
  // Takes a token if there is one (ending a refusal episode), else nothing;
  // never fails.
  void TakeIfAny(absl::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
    uint64_t refused = 0;  // refusals since the last success
  };
  // The bucket of `key`, refilled to now; creates a full one.
  Bucket& Refill(absl::string_view key, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Refused(const Bucket& b) const;
  void Trim(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const BucketConfig config_;
  const std::string what_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// Every family the server uses, built from RateLimitOptions.
struct RateLimits {
  RateLimits(Clock* clock, const RateLimitOptions& options)
      : registration(clock, options.registration, "too many registrations from this address"),
        failed_auth(clock, options.failed_auth,
                    "too many failed authentications from this address"),
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
