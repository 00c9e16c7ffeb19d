#ifndef SOTTO_SERVER_RPC_SERVER_STATS_H_
#define SOTTO_SERVER_RPC_SERVER_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sotto/v1/operator.pb.h"

namespace sotto::server::rpc {

// Counters behind Operator.Stats (internal to server/rpc). Lock-free;
// relaxed increments: a reader sees each counter exact once the calls it
// counts have been answered.
struct ServerStats {
  static constexpr int kCodes = 17;  // gRPC status codes 0..16

  void CountSendFailure(int code) {
    sends_failed_by_code[(code > 0 && code < kCodes) ? code : 2].fetch_add(
        1, std::memory_order_relaxed);
  }
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  // Fills everything but the live values the caller owns (log syncs, pool
  // threads).
  void Fill(sotto::v1::StatsResponse& out) const {
    out.set_uptime_ms(absl::ToInt64Milliseconds(absl::Now() - started));
    out.set_sends_ok(sends_ok.load(std::memory_order_relaxed));
    out.set_sends_duplicate(sends_duplicate.load(std::memory_order_relaxed));
    for (const auto& c : sends_failed_by_code) {
      out.add_sends_failed_by_code(c.load(std::memory_order_relaxed));
    }
    out.set_envelopes_accepted(envelopes_accepted.load(std::memory_order_relaxed));
    out.set_envelopes_fetched(envelopes_fetched.load(std::memory_order_relaxed));
    out.set_envelopes_streamed(envelopes_streamed.load(std::memory_order_relaxed));
    out.set_envelopes_acked(envelopes_acked.load(std::memory_order_relaxed));
    out.set_subscriptions_open(subscriptions_open.load(std::memory_order_relaxed));
    out.set_subscriptions_replaced(subscriptions_replaced.load(std::memory_order_relaxed));
  }

  const absl::Time started = absl::Now();
  std::atomic<uint64_t> sends_ok{0};
  std::atomic<uint64_t> sends_duplicate{0};
  std::array<std::atomic<uint64_t>, kCodes> sends_failed_by_code{};
  std::atomic<uint64_t> envelopes_accepted{0};
  std::atomic<uint64_t> envelopes_fetched{0};
  std::atomic<uint64_t> envelopes_streamed{0};
  std::atomic<uint64_t> envelopes_acked{0};
  std::atomic<uint64_t> subscriptions_open{0};
  std::atomic<uint64_t> subscriptions_replaced{0};
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_SERVER_STATS_H_
