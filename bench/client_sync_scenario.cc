// client-sync: a therapist back from a week away (issue 21). The client sends
// N texts with the library (one continuing Signal session, the therapist
// offline), then the therapist's Client::Sync is timed to the end: Fetch,
// decrypt, store, ack. Every text must arrive once and in order. Side by side
// in the same run: libsignal's raw decrypt rate on one core.

#include <stdlib.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"

namespace sotto::bench {
namespace {

struct SyncRun {
  uint64_t n = 0;
  Timed sync;
  double server_cpu = 0;
  double fill_per_s = 0;
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
  run.fill_per_s = n / fill->wall;
  if (!TimedSync(r, **pair, n, run)) return false;
  VerifyInOrder(r, (*pair)->therapist(), (*pair)->client().handle(), 0, n, o.size);
  return true;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Medians over the rounds of one backlog, one field of SyncRun at a time.
template <typename F>
double MedianOf(const std::vector<SyncRun>& runs, F field) {
  std::vector<double> v;
  for (const SyncRun& run : runs) v.push_back(field(run));
  return Median(std::move(v));
}

double CpuPerMsg(const SyncRun& run) { return run.sync.cpu / static_cast<double>(run.n); }

// The figures of one backlog, medians over its rounds (min and max of the
// CPU a message beside them, to show the spread).
void ReportBacklog(ScenarioResult& r, uint64_t n, const std::vector<SyncRun>& runs) {
  const std::string sfx = absl::StrCat("_n", n);
  r.Add("fill_msgs_per_s" + sfx, MedianOf(runs, [](const SyncRun& x) { return x.fill_per_s; }),
        "msg/s");
  const double wall = MedianOf(runs, [](const SyncRun& x) { return x.sync.wall; });
  const double cpu = MedianOf(runs, [](const SyncRun& x) { return x.sync.cpu; });
  r.Add("sync_msgs_per_s" + sfx, n / wall, "msg/s");
  r.Add("sync_wall_s" + sfx, wall, "s");
  r.Add("sync_cpu_s" + sfx, cpu, "s");
  r.Add("cpu_per_msg_us" + sfx, cpu * 1e6 / n, "us");
  double lo = CpuPerMsg(runs.front()), hi = lo;
  for (const SyncRun& run : runs) {
    lo = std::min(lo, CpuPerMsg(run));
    hi = std::max(hi, CpuPerMsg(run));
  }
  for (size_t k = 0; k < runs.size(); ++k) {
    r.Add(absl::StrCat("cpu_per_msg_us", sfx, "_round", k + 1), CpuPerMsg(runs[k]) * 1e6, "us");
  }
  r.Add("cpu_per_msg_us_min" + sfx, lo * 1e6, "us");
  r.Add("cpu_per_msg_us_max" + sfx, hi * 1e6, "us");
  r.Add("decrypt_store_per_cpu_s" + sfx, n / cpu, "msg/s");
  r.Add("minor_faults_per_msg" + sfx,
        MedianOf(runs, [](const SyncRun& x) { return x.sync.minor_faults; }) / n);
  r.Add("server_cpu_s" + sfx, MedianOf(runs, [](const SyncRun& x) { return x.server_cpu; }), "s");
}

// Flatness and the split of a sync's CPU into fixed + marginal x N, through
// the first and last backlogs' medians; and per round, so the spread shows.
void ReportFlatness(ScenarioResult& r, const std::vector<std::vector<SyncRun>>& by_backlog,
                    double raw_per_cpu_s) {
  const std::vector<SyncRun>& first = by_backlog.front();
  const std::vector<SyncRun>& last = by_backlog.back();
  const double a_cpu = MedianOf(first, [](const SyncRun& x) { return x.sync.cpu; });
  const double b_cpu = MedianOf(last, [](const SyncRun& x) { return x.sync.cpu; });
  const uint64_t a_n = first.front().n, b_n = last.front().n;
  // Flat means the cost of a message does not grow or shrink with the backlog
  // (issue 21: within 10% from 1,000 to 10,000).
  r.Add("cpu_per_msg_last_over_first", (b_cpu / b_n) / (a_cpu / a_n));
  int within = 0;
  for (size_t i = 0; i < first.size() && i < last.size(); ++i) {
    const double ratio = CpuPerMsg(last[i]) / CpuPerMsg(first[i]);
    r.Add(absl::StrCat("cpu_per_msg_last_over_first_round", i + 1), ratio);
    if (ratio >= 0.9 && ratio <= 1.1) ++within;
  }
  r.Add("rounds_flat_within_10pct", within);
  // CPU = fixed + marginal x N: what a sync costs whatever its size (first
  // touches of memory, the page's write, Ack, receipts) apart from what each
  // message adds.
  if (b_n > a_n) {
    const double marginal = (b_cpu - a_cpu) / static_cast<double>(b_n - a_n);
    r.Add("marginal_cpu_per_msg_us", marginal * 1e6, "us");
    r.Add("fixed_cpu_per_sync_ms", (a_cpu - marginal * a_n) * 1e3, "ms");
    r.Add("ratio_marginal_vs_raw", 1.0 / marginal / raw_per_cpu_s);
  }
}

}  // namespace

ScenarioResult RunClientSync(const Common& common, const ClientSyncOptions& o) {
  ScenarioResult r;
  r.scenario = "client-sync";
  std::string backlogs;
  for (uint64_t n : o.backlogs) backlogs += (backlogs.empty() ? "" : ",") + std::to_string(n);
  r.params.push_back({"backlogs", 0, backlogs, ""});
  r.Param("size", static_cast<double>(o.size), "B");
  r.Param("repeats", o.repeats);
  // Whether malloc backs large areas with transparent huge pages
  // (GLIBC_TUNABLES=glibc.malloc.hugetlb=1): it decides most of a sync's
  // fixed cost on a VM where a page fault is dear (docs/BENCHMARKS.md).
  const char* tunables = getenv("GLIBC_TUNABLES");
  r.params.push_back({"glibc_tunables", 0, tunables != nullptr ? tunables : "(unset)", ""});
  r.Add("load_average_start", LoadAverage());
  // Rounds of every backlog, in turn ascending and descending, so no backlog
  // is always the one that runs first in a cold process or right after the
  // largest; and the raw rate after each round, the same spell as its syncs.
  std::vector<std::vector<SyncRun>> by_backlog(o.backlogs.size());
  std::vector<double> raw_rates, raw_wall_rates;
  bool first_of_process = true;
  for (int round = 0; round < o.repeats; ++round) {
    for (size_t k = 0; k < o.backlogs.size(); ++k) {
      const size_t i = round % 2 == 0 ? k : o.backlogs.size() - 1 - k;
      SyncRun run;
      if (!RunOne(r, common, o, o.backlogs[i], run)) return r;
      if (first_of_process) {
        // The process's first sync pays for the heap it grows (docs/BENCHMARKS.md):
        // what every `sotto sync` of the CLI pays.
        r.Add("cpu_per_msg_us_first_of_process", CpuPerMsg(run) * 1e6, "us");
        r.Add("first_of_process_n", static_cast<double>(run.n));
        first_of_process = false;
      }
      by_backlog[i].push_back(run);
    }
    absl::StatusOr<RawDecrypt> raw = MeasureRawDecrypt(o.size, o.raw_messages, /*pin=*/true);
    if (!raw.ok()) {
      r.failures.push_back(raw.status().ToString());
      return r;
    }
    raw_rates.push_back(raw->per_cpu_s);
    raw_wall_rates.push_back(raw->per_s);
  }
  const double raw_per_cpu_s = Median(raw_rates);
  r.Add("raw_decrypt_per_s", Median(raw_wall_rates), "msg/s");
  r.Add("raw_decrypt_per_cpu_s", raw_per_cpu_s, "msg/s");
  for (size_t i = 0; i < o.backlogs.size(); ++i) {
    ReportBacklog(r, o.backlogs[i], by_backlog[i]);
    const double cpu = MedianOf(by_backlog[i], [](const SyncRun& x) { return x.sync.cpu; });
    r.Add(absl::StrCat("ratio_vs_raw_n", o.backlogs[i]), o.backlogs[i] / cpu / raw_per_cpu_s);
  }
  if (o.backlogs.size() >= 2) ReportFlatness(r, by_backlog, raw_per_cpu_s);
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench
