#ifndef SOTTO_SERVER_DOMAIN_ATTEMPT_LIMITER_H_
#define SOTTO_SERVER_DOMAIN_ATTEMPT_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/shared_limit_store.h"
#include "server/storage/store.h"

namespace sotto::server {

// Counts failed attempts per key (a source address, an account) in a sliding
// window. A key with `max_failures` in the window is over budget: its wrong
// codes are answered RESOURCE_EXHAUSTED, but its attempts are still checked
// (Admit) while the server-wide allowance of over-budget failures
// (`max_over_budget` in the window) lasts, so that one guesser behind a
// shared address (a clinic's NAT) cannot keep out a neighbour who holds a
// right code. Only a flood of wrong codes past that allowance is refused
// without a check. docs/SECURITY.md ("Rate limits") derives the bound on
// guessing. In memory (a restart forgets it), or, given a shared store
// (several nodes on one PostgreSQL), as rows of Table::kLimits that every
// node counts: one row per failure and key, a plain insert that never
// conflicts, so a flood through many nodes cannot lose a count to
// contention, and N nodes together check what one does. Thread-safe. Does
// not own `clock` or the store.
class AttemptLimiter {
 public:
  // Keys tracked at most; past it, keys without a failure in the window are
  // dropped, and if that is not enough the new key is not tracked (its
  // failures still count under its other keys).
  static constexpr size_t kMaxKeys = 100000;

  AttemptLimiter(Clock* clock, int max_failures = kMaxCodeFailures,
                 int64_t window_ms = kCodeFailureWindowMs,
                 int max_over_budget = kMaxOverBudgetCodeFailures);
  // Counts in `shared` (shared.store null: in memory), each row named by
  // the blinded key (shared_limit_store.h). Every node of one database must
  // use the same limits.
  AttemptLimiter(Clock* clock, SharedLimitStore shared, int max_failures = kMaxCodeFailures,
                 int64_t window_ms = kCodeFailureWindowMs,
                 int max_over_budget = kMaxOverBudgetCodeFailures);
  AttemptLimiter(const AttemptLimiter&) = delete;
  AttemptLimiter& operator=(const AttemptLimiter&) = delete;

  // OK if none of `keys` has reached max_failures in the window, else
  // RESOURCE_EXHAUSTED "too many wrong codes; retry after N s" (N: until the
  // oldest counted failure of the most limited key leaves the window).
  // A shared limiter's storage error is returned (the attempt is refused).
  absl::Status Check(const std::vector<std::string>& keys);

  // Whether an attempt under `keys` may have its code checked. true: some
  // key is over budget, and the server-wide allowance has room: check the
  // code; if it is wrong, answer Check(keys) and RecordFailure(keys, true).
  // false: every key is within budget. RESOURCE_EXHAUSTED (as Check's): the
  // allowance is spent too; refuse without checking.
  absl::StatusOr<bool> Admit(const std::vector<std::string>& keys);

  // Counts one failure against each of `keys`, and with `over_budget`
  // against the server-wide allowance. A shared limiter that cannot write
  // logs it (the database is then failing the code checks too).
  void RecordFailure(const std::vector<std::string>& keys, bool over_budget = false);

  // A shared limiter: deletes the rows of failures that left the window;
  // the leader's sweeper calls it. Returns how many went (0 in memory).
  absl::StatusOr<size_t> SweepExpired();

 private:
  // The shared forms of Check, of Admit's allowance and of RecordFailure.
  absl::Status SharedCheck(const std::vector<std::string>& keys, int64_t now);
  absl::StatusOr<bool> SharedAllowanceLeft(int64_t now);
  void SharedRecord(const std::vector<std::string>& keys, bool over_budget, int64_t now);
  absl::Status TooMany(int64_t retry_at, int64_t now) const;

  // Drops failures older than the window; the caller holds mu_.
  void Prune(std::deque<int64_t>& failures, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const size_t max_failures_;
  const int64_t window_ms_;
  absl::Mutex mu_;
  // Failure times per key, oldest first, at most max_failures_ each.
  absl::flat_hash_map<std::string, std::deque<int64_t>> failures_ ABSL_GUARDED_BY(mu_);
  const size_t max_over_budget_;
  // Times of the failures of over-budget keys, oldest first, at most
  // max_over_budget_.
  std::deque<int64_t> over_budget_failures_ ABSL_GUARDED_BY(mu_);
  Store* const shared_ = nullptr;
  const SharedLimitStore rows_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_ATTEMPT_LIMITER_H_
