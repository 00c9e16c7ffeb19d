// client-sync: a therapist back from a week away (issue 21). The client sends
// N texts with the library (one continuing Signal session, the therapist
// offline), then the therapist's Client::Sync is timed to the end: Fetch,
// decrypt, store, ack. Every text must arrive once and in order. Side by side
// in the same run: libsignal's raw decrypt rate on one core.

#include <stdlib.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"

namespace sotto::bench {
namespace {

struct SyncRun {
  uint64_t n = 0;
  Timed sync;
  double server_cpu = 0;
};

// Syncs until the backlog is in (a Sync drains everything queued, but the
// library may stop early on a page boundary; at most n + 2 calls). Checks
// the counts of what arrived.
bool TimedSync(ScenarioResult& r, ClientPair& pair, uint64_t n, SyncRun& run) {
  const double server0 = pair.world().ServerCpuSeconds();
  PerfWindow profiled;
  Stopwatch watch;
  uint64_t received = 0;
  for (uint64_t calls = 0; received < n && calls < n + 2; ++calls) {
    absl::StatusOr<SyncStats> got = pair.therapist().Sync();
    if (!got.ok()) {
      r.failures.push_back(absl::StrCat("Sync after ", received, ": ", got.status().ToString()));
      return false;
    }
    if (got->duplicates != 0 || got->undecryptable != 0 || got->held != 0) {
      r.failures.push_back(absl::StrCat("Sync: ", got->duplicates, " duplicates, ",
                                        got->undecryptable, " undecryptable, ", got->held,
                                        " held (expected none)"));
    }
    if (got->received == 0) break;
    received += static_cast<uint64_t>(got->received);
  }
  run.sync = watch.Elapsed();
  run.server_cpu = pair.world().ServerCpuSeconds() - server0;
  run.n = n;
  if (received != n) {
    r.failures.push_back(absl::StrCat("Sync received ", received, " messages, expected ", n));
    return false;
  }
  // Nothing may come twice: the queue is empty now.
  absl::StatusOr<SyncStats> again = pair.therapist().Sync();
  if (!again.ok() || again->received != 0 || again->duplicates != 0) {
    r.failures.push_back(
        "a second Sync found more: " +
        (again.ok() ? absl::StrCat(again->received, " received, ", again->duplicates, " duplicates")
                    : again.status().ToString()));
  }
  return true;
}

// One backlog in a fresh server and fresh profiles.
bool RunOne(ScenarioResult& r, const Common& common, const ClientSyncOptions& o, uint64_t n,
            SyncRun& run) {
  const std::string sfx = absl::StrCat("_n", n);
  absl::StatusOr<std::unique_ptr<ClientPair>> pair = ClientPair::Start(common);
  if (!pair.ok()) {
    r.failures.push_back("set-up: " + pair.status().ToString());
    return false;
  }
  absl::StatusOr<Timed> fill = SendTexts(**pair, 0, n, o.size);
  if (!fill.ok()) {
    r.failures.push_back("fill: " + fill.status().ToString());
    return false;
  }
  r.Add("fill_msgs_per_s" + sfx, n / fill->wall, "msg/s");
  if (!TimedSync(r, **pair, n, run)) return false;
  VerifyInOrder(r, (*pair)->therapist(), (*pair)->client().handle(), 0, n, o.size);
  r.Add("sync_msgs_per_s" + sfx, n / run.sync.wall, "msg/s");
  r.Add("sync_wall_s" + sfx, run.sync.wall, "s");
  r.Add("sync_cpu_s" + sfx, run.sync.cpu, "s");
  r.Add("cpu_per_msg_us" + sfx, run.sync.cpu * 1e6 / n, "us");
  r.Add("decrypt_store_per_cpu_s" + sfx, n / run.sync.cpu, "msg/s");
  r.Add("minor_faults_per_msg" + sfx, run.sync.minor_faults / n);
  r.Add("server_cpu_s" + sfx, run.server_cpu, "s");
  return true;
}

}  // namespace

ScenarioResult RunClientSync(const Common& common, const ClientSyncOptions& o) {
  ScenarioResult r;
  r.scenario = "client-sync";
  std::string backlogs;
  for (uint64_t n : o.backlogs) backlogs += (backlogs.empty() ? "" : ",") + std::to_string(n);
  r.params.push_back({"backlogs", 0, backlogs, ""});
  r.Param("size", static_cast<double>(o.size), "B");
  // Whether malloc backs large areas with transparent huge pages
  // (GLIBC_TUNABLES=glibc.malloc.hugetlb=1): it decides most of a sync's
  // fixed cost on a VM where a page fault is dear (docs/BENCHMARKS.md).
  const char* tunables = getenv("GLIBC_TUNABLES");
  r.params.push_back({"glibc_tunables", 0, tunables != nullptr ? tunables : "(unset)", ""});
  r.Add("load_average_start", LoadAverage());
  std::vector<SyncRun> runs;
  for (uint64_t n : o.backlogs) {
    SyncRun run;
    if (!RunOne(r, common, o, n, run)) return r;
    runs.push_back(run);
  }
  // Right after the syncs, on one pinned core: the same machine, the same
  // spell.
  absl::StatusOr<RawDecrypt> raw = MeasureRawDecrypt(o.size, o.raw_messages, /*pin=*/true);
  if (!raw.ok()) {
    r.failures.push_back(raw.status().ToString());
    return r;
  }
  r.Add("raw_decrypt_per_s", raw->per_s, "msg/s");
  r.Add("raw_decrypt_per_cpu_s", raw->per_cpu_s, "msg/s");
  for (const SyncRun& run : runs) {
    r.Add(absl::StrCat("ratio_vs_raw_n", run.n), run.n / run.sync.cpu / raw->per_cpu_s);
  }
  if (runs.size() >= 2) {
    // Flat means the cost of a message does not grow with the backlog.
    const double first = runs.front().sync.cpu / runs.front().n;
    const double last = runs.back().sync.cpu / runs.back().n;
    r.Add("cpu_per_msg_last_over_first", last / first);
    // CPU = fixed + marginal x N, through the first and last backlogs: what
    // a sync costs whatever its size (first touches of memory, the page's
    // write, Ack, receipts) apart from what each message adds (issue 21).
    const SyncRun& a = runs.front();
    const SyncRun& b = runs.back();
    if (b.n > a.n) {
      const double marginal = (b.sync.cpu - a.sync.cpu) / static_cast<double>(b.n - a.n);
      r.Add("marginal_cpu_per_msg_us", marginal * 1e6, "us");
      r.Add("fixed_cpu_per_sync_ms", (a.sync.cpu - marginal * a.n) * 1e3, "ms");
      r.Add("ratio_marginal_vs_raw", 1.0 / marginal / raw->per_cpu_s);
    }
  }
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench
