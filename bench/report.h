#ifndef SOTTO_BENCH_REPORT_H_
#define SOTTO_BENCH_REPORT_H_

// What a scenario reports: its parameters, metrics, gRPC status counts and
// failures, printed as a terminal table and written as JSON.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sotto::bench {

// One named value: a number (printed with `unit`) or a string.
struct Metric {
  std::string name;
  double number = 0;
  std::string text;  // Used instead of `number` when not empty.
  std::string unit;
};

struct ScenarioResult {
  std::string scenario;
  std::vector<Metric> params;
  std::vector<Metric> metrics;
  // gRPC status code name -> calls that ended with it (every RPC the
  // scenario timed, successes included).
  std::map<std::string, uint64_t> status_counts;
  // Anything that makes the run invalid (a failed RPC, a queue that does not
  // hold what it should). Non-empty means exit status 1.
  std::vector<std::string> failures;

  void Param(std::string name, double v, std::string unit = "") {
    params.push_back({std::move(name), v, "", std::move(unit)});
  }
  void Add(std::string name, double v, std::string unit = "") {
    metrics.push_back({std::move(name), v, "", std::move(unit)});
  }
  void AddText(std::string name, std::string v) {
    metrics.push_back({std::move(name), 0, std::move(v), ""});
  }
  bool ok() const { return failures.empty(); }
};

// Prints one table per scenario to stdout.
void PrintTable(const std::vector<ScenarioResult>& results);

// Writes {"tool":"sotto-bench", "host":{...}, "scenarios":[...]} to `path`.
// Returns false (and says why on stderr) if the file cannot be written.
bool WriteJson(const std::string& path, const std::vector<ScenarioResult>& results);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_REPORT_H_
