#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <thread>

#include "bench/ceiling.h"
#include "bench/scenario_common.h"
#include "bench/scenarios.h"

namespace sotto::bench {

// depth: the same Sends into an empty store and into one holding a deep
// backlog, so that a slowdown with queue depth shows as a ratio.
ScenarioResult RunDepth(const Common& c, const DepthOptions& o) {
  ScenarioResult r;
  r.scenario = "depth";
  r.Param("queued", static_cast<double>(o.queued));
  r.Param("messages", static_cast<double>(o.messages));
  r.Param("concurrency", o.concurrency);
  r.Param("size", o.size, "B");
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  const size_t pairs_empty = PairsFor(o.messages, o.concurrency, o.size);
  const size_t pairs_deep = PairsFor(o.queued + o.messages, o.concurrency, o.size);
  std::unique_ptr<World> world =
      StartWorld(r, c, static_cast<int>(std::min<size_t>(8, o.concurrency)));
  if (world == nullptr || !Setup(r, *world, pairs_empty + pairs_deep, 1)) return r;
  std::map<const Device*, uint64_t> expected;

  // Run 1: the store holds only the accounts.
  SendStats empty = RunSends(*world, PlanSends(0, pairs_empty, o.concurrency, o.messages, o.size,
                                               o.direction, c.phase_limit));
  Account(r, expected, *world, empty, o.direction, "empty store");

  // Fill: `queued` envelopes spread over the deep pairs, by concurrent Sends.
  SendStats fill = RunSends(*world, PlanSends(pairs_empty, pairs_deep, o.fill_concurrency, o.queued,
                                              o.size, o.direction, c.phase_limit));
  Account(r, expected, *world, fill, o.direction, "fill");
  r.Add("fill_seconds", fill.seconds, "s");
  r.Param("settle_max", o.settle_max_seconds, "s");
  if (o.settle_max_seconds > 0) {
    const auto settle_start = Clock::now();
    const auto settle_by = settle_start + std::chrono::duration<double>(o.settle_max_seconds);
    bool idle = false;
    while (!idle && Clock::now() < settle_by) {
      const double cpu0 = world->ServerCpuSeconds();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      idle = world->ServerCpuSeconds() - cpu0 < 0.05;
    }
    r.Add("settle_seconds", std::chrono::duration<double>(Clock::now() - settle_start).count(),
          "s");
    if (!idle) r.Add("settled", 0);
  }

  // Run 2: the same Sends into the queues that already hold the backlog.
  SendStats deep = RunSends(*world, PlanSends(pairs_empty, pairs_deep, o.concurrency, o.messages,
                                              o.size, o.direction, c.phase_limit));
  Account(r, expected, *world, deep, o.direction, "queued store");

  const double rate_empty = empty.seconds > 0 ? empty.ok / empty.seconds : 0;
  const double rate_deep = deep.seconds > 0 ? deep.ok / deep.seconds : 0;
  r.Add("msgs_per_s_empty", rate_empty, "msg/s");
  r.Add("msgs_per_s_queued", rate_deep, "msg/s");
  r.Add("depth_ratio", rate_empty > 0 ? rate_deep / rate_empty : NAN);
  AddLatencies(r, "send_empty_", empty.latencies_us, true);
  AddLatencies(r, "send_queued_", deep.latencies_us, true);
  VerifyQueues(r, *world, expected, c.phase_limit);
  CheckServerCounters(r, *world,
                      {empty.ok + fill.ok + deep.ok, empty.failed + fill.failed + deep.failed});
  world.reset();

  if (c.ceiling) {
    absl::StatusOr<CeilingResult> ceil =
        MeasureSyncedWriteCeiling(TempRoot(), o.messages, o.size, o.concurrency);
    if (!ceil.ok()) {
      r.failures.push_back(ceil.status().ToString());
    } else {
      r.Add("ceiling_per_s", ceil->per_second, "writes/s");
      r.Add("ceiling_ratio_empty", ceil->per_second > 0 ? rate_empty / ceil->per_second : NAN);
      r.Add("ceiling_ratio", ceil->per_second > 0 ? rate_deep / ceil->per_second : NAN);
    }
  }
  return r;
}

}  // namespace sotto::bench
