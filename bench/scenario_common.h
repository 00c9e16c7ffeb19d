#ifndef SOTTO_BENCH_SCENARIO_COMMON_H_
#define SOTTO_BENCH_SCENARIO_COMMON_H_

// What every server scenario (scenarios.h) shares: sizing the accounts so no
// queue overflows, starting the server and the accounts, and the checks after
// a run — what the queues hold and what the server itself counted — so that
// a scenario reports a failure instead of a number it cannot vouch for.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/report.h"
#include "bench/scenarios.h"
#include "bench/send_load.h"
#include "bench/world.h"

namespace sotto::bench {

using Clock = std::chrono::steady_clock;

inline size_t CeilDiv(uint64_t a, uint64_t b) { return static_cast<size_t>((a + b - 1) / b); }

// Envelopes one queue may take in a scenario: under the server's 10,000
// envelopes and (default) 64 MiB per device, with room to spare.
uint64_t QueueRoom(size_t size);

// Pairs for `messages` spread over `concurrency` workers, each worker with
// its own pairs, no queue above QueueRoom(size).
size_t PairsFor(uint64_t messages, size_t concurrency, size_t size);

const char* DirectionName(Direction d);

// Starts the server for `r` (recording its flags); nullptr (and a failure in
// `r`) if it does not start.
std::unique_ptr<World> StartWorld(ScenarioResult& r, const Common& c, int channels);

// Registers `pairs` pairs; false (and a failure in `r`) on an RPC error.
bool Setup(ScenarioResult& r, World& world, size_t pairs, size_t clients_per_therapist);

void Merge(std::map<std::string, uint64_t>& into, const std::map<std::string, uint64_t>& from);

// Records a send run's failures in `r`.
void CheckSends(ScenarioResult& r, const SendStats& s, const std::string& phase);

// Adds the envelopes a send run left in each recipient's queue to `expected`.
void AddExpected(std::map<const Device*, uint64_t>& expected, const World& world,
                 const SendStats& s, Direction d);

// Records a send run in `r` (failures, status counts) and what it left in
// the queues in `expected`.
void Account(ScenarioResult& r, std::map<const Device*, uint64_t>& expected, const World& world,
             const SendStats& s, Direction d, const std::string& phase);

void AddLatencies(ScenarioResult& r, const std::string& prefix, std::vector<uint32_t>& lat,
                  bool p999);

// Fetches every queue in `expected` (recipient -> envelopes it must hold)
// with 8 threads; records mismatches.
void VerifyQueues(ScenarioResult& r, const World& world,
                  const std::map<const Device*, uint64_t>& expected, std::chrono::seconds limit,
                  const std::string& metric = "verified_envelopes");

// What the server must have counted over a scenario (a fresh server each).
struct ExpectedCounters {
  ExpectedCounters(uint64_t ok, uint64_t failed) : sends_ok(ok), sends_failed(failed) {}
  uint64_t sends_ok = 0;      // first-time Sends acknowledged OK
  uint64_t sends_failed = 0;  // Sends answered with an error
  std::optional<uint64_t> envelopes_acked;
  std::optional<uint64_t> min_envelopes_streamed;
};

// Compares the server's own counters (Operator.Stats) with what the load
// generator saw, so that neither side can count an error as a success; adds
// the group commit's calls per log sync.
void CheckServerCounters(ScenarioResult& r, const World& world, const ExpectedCounters& e);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SCENARIO_COMMON_H_
