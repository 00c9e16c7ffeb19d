#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/scenario_common.h"
#include "bench/scenarios.h"
#include "bench/subscriber.h"

namespace sotto::bench {

// idle: many open Subscribe streams and nothing sent; what each costs the
// server in memory and threads.
ScenarioResult RunIdle(const Common& c, const IdleOptions& o) {
  ScenarioResult r;
  r.scenario = "idle";
  r.Param("streams", o.streams);
  r.Param("streams_per_device", o.streams_per_device);
  const size_t per = std::max<size_t>(1, o.streams_per_device);
  const size_t devices = CeilDiv(o.streams, per);
  const int channels = static_cast<int>(std::clamp<size_t>(o.streams / 250, 1, 64));
  // More streams per device than the server's default limit would replace
  // each other: raise it for this run (a server that predates the flag
  // refuses to start with it: give such a binary one stream per device).
  Common with_limit = c;
  if (per > 1) with_limit.server_args.push_back(absl::StrCat("--max-streams-per-device=", per));
  std::unique_ptr<World> world = StartWorld(r, with_limit, channels);
  if (world == nullptr || !Setup(r, *world, devices, 4000)) return r;

  const ProcStatus before = world->ReadServerStatus();
  std::vector<std::unique_ptr<Subscriber>> subs;
  const auto open_start = Clock::now();
  for (size_t i = 0; i < o.streams; ++i) {
    subs.push_back(
        std::make_unique<Subscriber>(world->messages(i), world->pairs()[i / per].client, nullptr));
  }
  const auto ready_by = Clock::now() + c.phase_limit;
  size_t live = 0;
  for (auto& s : subs) live += s->AwaitDrained(ready_by) ? 1 : 0;
  r.Add("open_seconds", std::chrono::duration<double>(Clock::now() - open_start).count(), "s");
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle_seconds));
  size_t still = 0;
  for (auto& s : subs) still += s->done() ? 0 : 1;
  const ProcStatus after = world->ReadServerStatus();
  absl::StatusOr<sotto::v1::StatsResponse> stats = world->ServerStats();
  if (!stats.ok()) {
    r.failures.push_back("server counters: " + stats.status().ToString());
  } else {
    if (stats->subscriptions_open() != still) {
      r.failures.push_back(absl::StrCat("server counters: ", stats->subscriptions_open(),
                                        " streams open on the server, ", still, " here"));
    }
    r.Add("server_pool_threads", static_cast<double>(stats->pool_threads()));
  }
  CloseAll(r, subs);

  r.Add("streams_live", static_cast<double>(std::min(live, still)));
  r.Add("server_rss_mib", after.rss_kib / 1024.0, "MiB");
  r.Add("server_threads", static_cast<double>(after.threads));
  r.Add("server_rss_before_mib", before.rss_kib / 1024.0, "MiB");
  r.Add("server_threads_before", static_cast<double>(before.threads));
  r.Add("server_kib_per_stream",
        o.streams > 0 ? (static_cast<double>(after.rss_kib) - before.rss_kib) / o.streams : 0,
        "KiB");
  r.Add("server_peak_rss_mib", after.peak_rss_kib / 1024.0, "MiB");
  if (after.rss_kib == 0) r.failures.push_back("could not read /proc/PID/status of the server");
  if (live < o.streams || still < o.streams) {
    r.failures.push_back(absl::StrCat(o.streams - std::min(live, still), " of ", o.streams,
                                      " streams did not stay open"));
  }
  return r;
}

}  // namespace sotto::bench
