#ifndef SOTTO_BENCH_SEND_LOAD_H_
#define SOTTO_BENCH_SEND_LOAD_H_

// Durable Sends at a fixed concurrency (closed loop, gRPC async API), and
// the checks that the server holds what it acknowledged.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/world.h"

namespace sotto::bench {

enum class Direction { kToTherapist, kToClient };

struct SendLoad {
  // Worker w sends, one call at a time, to pairs per_worker[w][0], [1], ...
  // round robin, `messages_per_worker[w]` messages. Giving each worker its
  // own pairs keeps concurrent Sends off the same recipient queue.
  std::vector<std::vector<size_t>> per_worker;
  std::vector<uint64_t> messages_per_worker;
  size_t size = 200;  // Ciphertext bytes per envelope.
  Direction direction = Direction::kToTherapist;
  // No new Send starts after this; the run is then incomplete (a failure).
  std::chrono::steady_clock::time_point stop_by;
};

struct SendStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> status_counts;
  std::vector<uint32_t> latencies_us;  // Successful Sends only.
  double seconds = 0;
  std::vector<uint64_t> ok_per_pair;  // Indexed by pair.
  uint64_t not_started = 0;           // Left undone at stop_by.
  uint64_t max_server_threads = 0;
  uint64_t max_server_rss_kib = 0;
  std::string first_error;
};

// Spreads `messages` over `concurrency` workers and `pairs` (a multiple of
// concurrency works best: each worker gets its own pairs).
SendLoad PlanSends(size_t first_pair, size_t pairs, size_t concurrency, uint64_t messages,
                   size_t size, Direction direction, std::chrono::seconds limit);

// Runs the load against `world`. Samples the server's /proc status while
// it runs.
SendStats RunSends(const World& world, const SendLoad& load);

// The recipient of pair p in `direction`.
const Device& Recipient(const World& world, size_t pair, Direction direction);

// Counts the envelopes in `device`'s queue by fetching them all (no ack).
// Fails on an RPC error or after `limit`.
absl::StatusOr<uint64_t> CountQueue(const World& world, const Device& device,
                                    std::chrono::seconds limit);

// p-th percentile (0..100) of `v` in microseconds converted to ms; NaN if empty.
// Sorts `v`.
double PercentileMs(std::vector<uint32_t>& v, double p);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SEND_LOAD_H_
