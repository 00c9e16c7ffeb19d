#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "bench/ceiling.h"
#include "bench/scenario_common.h"
#include "bench/scenarios.h"

namespace sotto::bench {

// ingest: closed-loop Sends as fast as the server takes them, compared with
// the synced-write ceiling of the same disk.
ScenarioResult RunIngest(const Common& c, const IngestOptions& o) {
  ScenarioResult r;
  r.scenario = "ingest";
  r.Param("concurrency", o.concurrency);
  r.Param("size", o.size, "B");
  r.Param("messages", o.messages);
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  const size_t pairs = PairsFor(o.messages + o.concurrency, o.concurrency, o.size);
  std::unique_ptr<World> world =
      StartWorld(r, c, static_cast<int>(std::min<size_t>(8, o.concurrency)));
  if (world == nullptr || !Setup(r, *world, pairs, 1)) return r;

  std::map<const Device*, uint64_t> expected;
  // Warm-up: one Send per worker (connections, caches), counted in the queues
  // but not in the timing.
  SendStats warm = RunSends(*world, PlanSends(0, pairs, o.concurrency, o.concurrency, o.size,
                                              o.direction, c.phase_limit));
  Account(r, expected, *world, warm, o.direction, "warm-up");

  const double server_cpu0 = world->ServerCpuSeconds(), client_cpu0 = SelfCpuSeconds();
  SendStats s = RunSends(
      *world, PlanSends(0, pairs, o.concurrency, o.messages, o.size, o.direction, c.phase_limit));
  const double server_cpu = world->ServerCpuSeconds() - server_cpu0;
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  Account(r, expected, *world, s, o.direction, "ingest");
  const double rate = s.seconds > 0 ? s.ok / s.seconds : 0;
  r.Add("msgs_per_s", rate, "msg/s");
  AddLatencies(r, "send_", s.latencies_us, true);
  r.Add("seconds", s.seconds, "s");
  r.Add("server_threads_max", static_cast<double>(s.max_server_threads));
  r.Add("server_rss_max_mib", s.max_server_rss_kib / 1024.0, "MiB");
  // CPU per Send: on a small machine the load generator shares the cores.
  r.Add("server_cpu_us_per_msg", s.ok > 0 ? server_cpu * 1e6 / s.ok : NAN, "us");
  r.Add("client_cpu_us_per_msg", s.ok > 0 ? client_cpu * 1e6 / s.ok : NAN, "us");
  VerifyQueues(r, *world, expected, c.phase_limit);
  CheckServerCounters(r, *world, {warm.ok + s.ok, warm.failed + s.failed});
  world.reset();  // Stop the server before measuring the disk alone.

  if (c.ceiling) {
    absl::StatusOr<CeilingResult> ceil =
        MeasureSyncedWriteCeiling(TempRoot(), o.messages, o.size, o.concurrency);
    if (!ceil.ok()) {
      r.failures.push_back(ceil.status().ToString());
    } else {
      r.Add("ceiling_per_s", ceil->per_second, "writes/s");
      r.Add("ceiling_ratio", ceil->per_second > 0 ? rate / ceil->per_second : NAN);
    }
  }
  return r;
}

}  // namespace sotto::bench
