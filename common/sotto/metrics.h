#ifndef SOTTO_COMMON_SOTTO_METRICS_H_
#define SOTTO_COMMON_SOTTO_METRICS_H_

// A small metrics registry rendered in Prometheus' text format (version
// 0.0.4): counters, gauges and histograms, with labels. Served by
// sotto-server's --metrics-listen endpoint (server/app/metrics_endpoint.h);
// every name and label is documented in docs/OPERATIONS.md "## Metrics".
//
// Privacy rule for every caller: a label value is a constant of our code (a
// method name, a status code, a limit's name), never request data — no
// handle, no device, no address, no content. A per-user label would tell
// whoever reads the metrics who is active, and request data would let a
// caller grow the registry without bound.
//
// Hot path: look a series up once and keep the reference (it is stable for
// the process's life); Add/Observe are then lock-free atomics:
//
//   static metrics::Counter& sends =
//       metrics::Global().GetCounter("sotto_x_total", "What it counts.");
//   sends.Add();
//
// A refusal by a named limit is one line anywhere in the server:
//
//   metrics::CountRefusal("disk_reserve");

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sotto::metrics {

// Label name/value pairs, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Counts observations into fixed buckets (upper bounds, ascending; +Inf is
// implicit). Observe is lock-free. A concurrent scrape may see a count one
// observation ahead of the sum: Prometheus tolerates that.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds from 100 µs to 10 s: disk syncs and RPCs.
std::vector<double> LatencyBuckets();

// Appends families in the text format. For collectors, which produce
// values at scrape time (disk free, RSS, queue totals).
class Exposition {
 public:
  // "# HELP" and "# TYPE" lines, then one sample per call of Sample.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  void Sample(absl::string_view name, const Labels& labels, double value);
  // Family + one unlabelled Sample.
  void Gauge(absl::string_view name, absl::string_view help, double value);
  void Counter(absl::string_view name, absl::string_view help, double value);

  std::string& text() { return text_; }

 private:
  std::string text_;
};

// Thread-safe. Get* create a series on first use and return the same one
// afterwards. A name has one type, help text and label-name set for the
// process (a later Get* with another type returns a detached series that is
// never rendered; RegistryTest pins that, since it is a bug in the caller).
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& GetCounter(absl::string_view name, absl::string_view help, const Labels& labels = {});
  Gauge& GetGauge(absl::string_view name, absl::string_view help, const Labels& labels = {});
  // `bounds` count only when the series is created.
  Histogram& GetHistogram(absl::string_view name, absl::string_view help,
                          const std::vector<double>& bounds, const Labels& labels = {});

  // Runs `collect` on every Render, after the registered series, so its
  // names must differ from theirs. Returns an id for RemoveCollector.
  using Collector = std::function<void(Exposition&)>;
  int AddCollector(Collector collect);
  // After it returns, the collector is not running and never runs again.
  void RemoveCollector(int id);

  // Every family, sorted by name, then the collectors' output.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct FamilyEntry {
    Type type;
    std::string help;
    // Keyed by the rendered label set, so output order is stable.
    std::map<std::string, Series> series;
  };
  // The series for (name, labels), created with `make` if new; nullptr
  // when `name` exists with another type.
  Series* Find(absl::string_view name, absl::string_view help, Type type, const Labels& labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, FamilyEntry, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Series>> detached_ ABSL_GUARDED_BY(mu_);
  // Held while collectors run, so RemoveCollector waits for a Render.
  mutable absl::Mutex collectors_mu_;
  std::map<int, Collector> collectors_ ABSL_GUARDED_BY(collectors_mu_);
  int next_collector_ ABSL_GUARDED_BY(collectors_mu_) = 0;
};

// The process's registry (never destroyed): what sotto-server serves.
Registry& Global();

// sotto_refusals_total{limit=LIMIT} += 1 in Global(): a request refused by
// the server's limit named `limit` (a constant such as "sends_per_device",
// "queue_depth", "io_queue"; the list is in docs/OPERATIONS.md).
void CountRefusal(absl::string_view limit);

// `value` as a label value: backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view value);

}  // namespace sotto::metrics

#endif  // SOTTO_COMMON_SOTTO_METRICS_H_
