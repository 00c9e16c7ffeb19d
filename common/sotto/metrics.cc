#include "sotto/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace sotto::metrics {
namespace {

// Prometheus' float text: integers without a fraction, +Inf/-Inf/NaN by
// name, anything else with enough digits to round-trip a sum of seconds.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", labels[i].first, "=\"",
                    EscapeLabelValue(labels[i].second), "\"");
  }
  out += "}";
  return out;
}

const char* TypeName(int type) {
  switch (type) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

void Exposition::Family(absl::string_view name, absl::string_view type, absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Exposition::Sample(absl::string_view name, const Labels& labels, double value) {
  absl::StrAppend(&text_, name, RenderLabels(labels), " ", FormatValue(value), "\n");
}

void Exposition::Gauge(absl::string_view name, absl::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, {}, value);
}

void Exposition::Counter(absl::string_view name, absl::string_view help, double value) {
  Family(name, "counter", help);
  Sample(name, {}, value);
}

Registry::Series* Registry::Find(absl::string_view name, absl::string_view help, Type type,
                                 const Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), FamilyEntry{type, std::string(help), {}}).first;
  }
  if (it->second.type != type) return nullptr;
  Series& s = it->second.series[RenderLabels(labels)];
  if (s.labels.empty()) s.labels = labels;
  return &s;
}

Counter& Registry::GetCounter(absl::string_view name, absl::string_view help,
                              const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Series* s = Find(name, help, Type::kCounter, labels);
  if (s == nullptr) {
    detached_.push_back(std::make_unique<Series>());
    s = detached_.back().get();
  }
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return *s->counter;
}

Gauge& Registry::GetGauge(absl::string_view name, absl::string_view help, const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Series* s = Find(name, help, Type::kGauge, labels);
  if (s == nullptr) {
    detached_.push_back(std::make_unique<Series>());
    s = detached_.back().get();
  }
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return *s->gauge;
}

Histogram& Registry::GetHistogram(absl::string_view name, absl::string_view help,
                                  const std::vector<double>& bounds, const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Series* s = Find(name, help, Type::kHistogram, labels);
  if (s == nullptr) {
    detached_.push_back(std::make_unique<Series>());
    s = detached_.back().get();
  }
  if (!s->histogram) s->histogram = std::make_unique<Histogram>(bounds);
  return *s->histogram;
}

int Registry::AddCollector(Collector collect) {
  absl::MutexLock lock(&collectors_mu_);
  const int id = next_collector_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::RemoveCollector(int id) {
  absl::MutexLock lock(&collectors_mu_);
  collectors_.erase(id);
}

std::string Registry::Render() const {
  Exposition out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, family] : families_) {
      out.Family(name, TypeName(static_cast<int>(family.type)), family.help);
      for (const auto& [key, s] : family.series) {
        if (s.counter) out.Sample(name, s.labels, static_cast<double>(s.counter->value()));
        if (s.gauge) out.Sample(name, s.labels, static_cast<double>(s.gauge->value()));
        if (!s.histogram) continue;
        const Histogram::Snapshot snap = s.histogram->snapshot();
        const std::string bucket = name + "_bucket";
        for (size_t i = 0; i < snap.cumulative.size(); ++i) {
          Labels with_le = s.labels;
          with_le.emplace_back(
              "le", i < snap.bounds.size() ? FormatValue(snap.bounds[i]) : std::string("+Inf"));
          out.Sample(bucket, with_le, static_cast<double>(snap.cumulative[i]));
        }
        out.Sample(name + "_sum", s.labels, snap.sum);
        out.Sample(name + "_count", s.labels, static_cast<double>(snap.cumulative.back()));
      }
    }
  }
  absl::MutexLock lock(&collectors_mu_);
  for (const auto& [id, collect] : collectors_) collect(out);
  return std::move(out.text());
}

Registry& Global() {
  static Registry* const registry = new Registry;
  return *registry;
}

void CountRefusal(absl::string_view limit) {
  Global()
      .GetCounter("sotto_refusals_total",
                  "Requests refused by a server limit (rate limit, queue quota, capacity).",
                  {{"limit", std::string(limit)}})
      .Add();
}

}  // namespace sotto::metrics
