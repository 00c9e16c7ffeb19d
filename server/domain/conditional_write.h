#ifndef SOTTO_SERVER_DOMAIN_CONDITIONAL_WRITE_H_
#define SOTTO_SERVER_DOMAIN_CONDITIONAL_WRITE_H_

// The retry loop of a read-modify-write over a conditional write
// (WriteBatch::Expect): read, decide, write expecting what was read; on
// ABORTED another writer (another sotto-server node on the same database,
// or a concurrent transaction) got there first, so read again and decide
// again. Each site keeps its in-process lock as well, so within one node
// racers queue on the lock and an ABORTED means another node: rare, and
// worth only a few quick retries.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sotto::server {

// Attempts before RetryAborted gives up. Racing nodes each win a round, so
// this many losses in a row means a hot key under heavy contention.
inline constexpr int kConditionalWriteAttempts = 8;

// Waits a little before attempt `attempt` (1, 2, ...): 0.5-1 ms doubling up to
// 32 ms, with jitter so that two losers do not collide again in step.
inline void ConditionalWriteBackoff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int64_t ceiling_us = int64_t{1000} << std::min(attempt - 1, 5);
  std::uniform_int_distribution<int64_t> pick(ceiling_us / 2, ceiling_us);
  std::this_thread::sleep_for(std::chrono::microseconds(pick(random)));
}

// Runs `attempt` (a callable returning absl::Status or absl::StatusOr<T>)
// until it returns anything but ABORTED, at most kConditionalWriteAttempts
// times; then UNAVAILABLE naming `what`, which the client may retry. Call
// with the site's in-process lock held: the lock serialises this node's
// racers, the expectations the other nodes'.
template <typename Attempt>
auto RetryAborted(absl::string_view what, Attempt&& attempt) -> decltype(attempt()) {
  for (int n = 1;; ++n) {
    auto result = attempt();
    absl::Status status;
    if constexpr (std::is_same_v<decltype(result), absl::Status>) {
      status = result;
    } else {
      status = result.status();
    }
    if (status.code() != absl::StatusCode::kAborted) return result;
    if (n == kConditionalWriteAttempts) {
      return absl::UnavailableError(absl::StrCat(
          what, " met concurrent changes from other servers ", n,
          " times in a row and was not stored; try again"));
    }
    ConditionalWriteBackoff(n);
  }
}

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CONDITIONAL_WRITE_H_
