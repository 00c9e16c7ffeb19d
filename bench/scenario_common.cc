#include "bench/scenario_common.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

namespace sotto::bench {

uint64_t QueueRoom(size_t size) {
  return std::max<uint64_t>(1, std::min<uint64_t>(kQueueRoom, (48ULL << 20) / (size + 128)));
}

size_t PairsFor(uint64_t messages, size_t concurrency, size_t size) {
  return concurrency * std::max<size_t>(1, CeilDiv(messages, concurrency * QueueRoom(size)));
}

void Merge(std::map<std::string, uint64_t>& into, const std::map<std::string, uint64_t>& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

void CheckSends(ScenarioResult& r, const SendStats& s, const std::string& phase) {
  if (s.failed > 0) {
    r.failures.push_back(
        absl::StrCat(phase, ": ", s.failed, " Sends failed (first: ", s.first_error, ")"));
  }
  if (s.not_started > 0) {
    r.failures.push_back(
        absl::StrCat(phase, ": time limit reached with ", s.not_started, " Sends not started"));
  }
}

void VerifyQueues(ScenarioResult& r, const World& world,
                  const std::map<const Device*, uint64_t>& expected, std::chrono::seconds limit,
                  const std::string& metric) {
  std::vector<std::pair<const Device*, uint64_t>> work(expected.begin(), expected.end());
  std::atomic<size_t> next{0};
  std::mutex mu;
  uint64_t total = 0, mismatched = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < work.size(); i = next++) {
        absl::StatusOr<uint64_t> n = CountQueue(world, *work[i].first, limit);
        std::lock_guard<std::mutex> lock(mu);
        if (!n.ok()) {
          r.failures.push_back("verify: " + n.status().ToString());
          continue;
        }
        total += *n;
        if (*n != work[i].second) {
          if (++mismatched <= 5) {
            r.failures.push_back(absl::StrCat("verify: queue of ", work[i].first->handle, " holds ",
                                              *n, " envelopes, expected ", work[i].second));
          }
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  if (mismatched > 5) {
    r.failures.push_back(absl::StrCat("verify: ", mismatched, " queues mismatched in all"));
  }
  r.Add(metric, static_cast<double>(total));
}

void CheckServerCounters(ScenarioResult& r, const World& world, const ExpectedCounters& e) {
  // The started server answered only its share of the calls; the queues,
  // which every node shares, are what VerifyQueues checked in full.
  if (world.nodes() > 1) return;
  absl::StatusOr<sotto::v1::StatsResponse> stats = world.ServerStats();
  if (!stats.ok()) {
    r.failures.push_back("server counters: " + stats.status().ToString());
    return;
  }
  uint64_t failed = 0;
  for (uint64_t n : stats->sends_failed_by_code()) failed += n;
  const uint64_t first_time = stats->sends_ok() - stats->sends_duplicate();
  if (first_time != e.sends_ok || failed != e.sends_failed) {
    r.failures.push_back(absl::StrCat("server counters: the server answered ", first_time,
                                      " Sends OK and ", failed, " with an error; the load saw ",
                                      e.sends_ok, " and ", e.sends_failed));
  }
  if (e.envelopes_acked && stats->envelopes_acked() != *e.envelopes_acked) {
    r.failures.push_back(absl::StrCat("server counters: ", stats->envelopes_acked(),
                                      " envelopes acked, the load deleted ", *e.envelopes_acked));
  }
  if (e.min_envelopes_streamed && stats->envelopes_streamed() < *e.min_envelopes_streamed) {
    r.failures.push_back(absl::StrCat("server counters: ", stats->envelopes_streamed(),
                                      " envelopes streamed, the load received ",
                                      *e.min_envelopes_streamed));
  }
  r.Add("server_sends_ok", static_cast<double>(first_time));
  r.Add("server_log_syncs", static_cast<double>(stats->log_syncs()));
  // The disk's part in any latency: the slowest WAL sync of the run (the
  // server's counters since it started) and how many took 10 ms or more.
  r.Add("server_log_sync_max_ms", static_cast<double>(stats->log_sync_max_micros()) / 1000.0, "ms");
  r.Add("server_log_syncs_over_10ms", static_cast<double>(stats->log_syncs_over_10ms()));
  if (stats->log_syncs() > 0) {
    r.Add("calls_per_log_sync",
          static_cast<double>(stats->synced_calls()) / static_cast<double>(stats->log_syncs()));
  }
}

void AddExpected(std::map<const Device*, uint64_t>& expected, const World& world,
                 const SendStats& s, Direction d) {
  for (size_t p = 0; p < s.ok_per_pair.size(); ++p) {
    if (s.ok_per_pair[p] > 0) expected[&Recipient(world, p, d)] += s.ok_per_pair[p];
  }
}

void Account(ScenarioResult& r, std::map<const Device*, uint64_t>& expected, const World& world,
             const SendStats& s, Direction d, const std::string& phase) {
  CheckSends(r, s, phase);
  AddExpected(expected, world, s, d);
  Merge(r.status_counts, s.status_counts);
}

void AddLatencies(ScenarioResult& r, const std::string& prefix, std::vector<uint32_t>& lat,
                  bool p999) {
  r.Add(prefix + "p50_ms", PercentileMs(lat, 50), "ms");
  r.Add(prefix + "p99_ms", PercentileMs(lat, 99), "ms");
  if (p999) r.Add(prefix + "p999_ms", PercentileMs(lat, 99.9), "ms");
}

std::unique_ptr<World> StartWorld(ScenarioResult& r, const Common& c, int channels) {
  std::string args;
  for (const std::string& a : c.server_args) args += (args.empty() ? "" : " ") + a;
  r.params.push_back({"server_args", 0, args.empty() ? "(none)" : args, ""});
  r.Param("nodes", 1 + c.nodes.size());
  absl::StatusOr<std::unique_ptr<World>> world = World::Start(
      c.server_binary, c.server_args, static_cast<int>(channels * (1 + c.nodes.size())), c.nodes);
  if (!world.ok()) {
    r.failures.push_back("start server: " + world.status().ToString());
    return nullptr;
  }
  return std::move(*world);
}

bool Setup(ScenarioResult& r, World& world, size_t pairs, size_t clients_per_therapist) {
  const auto start = Clock::now();
  absl::Status s = world.AddPairs(pairs, clients_per_therapist);
  if (!s.ok()) {
    r.failures.push_back("setup: " + s.ToString());
    return false;
  }
  r.Add("setup_seconds", std::chrono::duration<double>(Clock::now() - start).count(), "s");
  return true;
}

const char* DirectionName(Direction d) {
  return d == Direction::kToTherapist ? "client->therapist" : "therapist->client";
}

}  // namespace sotto::bench
