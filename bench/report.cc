#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace sotto::bench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// JSON has no NaN or infinity; a metric that could not be computed is null.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", v);
  }
  return buf;
}

std::string Human(const Metric& m) {
  if (!m.text.empty()) return m.text;
  char buf[64];
  double v = m.number;
  if (!std::isfinite(v)) return "n/a";
  if (v == std::floor(v) && std::fabs(v) < 1e12) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else if (std::fabs(v) >= 100) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g", v);
  }
  std::string s = buf;
  if (!m.unit.empty()) s += " " + m.unit;
  return s;
}

void JsonMetrics(std::ostream& out, const std::vector<Metric>& metrics) {
  out << "{";
  for (size_t i = 0; i < metrics.size(); ++i) {
    const Metric& m = metrics[i];
    out << (i ? ", " : "") << JsonString(m.name) << ": "
        << (m.text.empty() ? JsonNumber(m.number) : JsonString(m.text));
  }
  out << "}";
}

}  // namespace

void PrintTable(const std::vector<ScenarioResult>& results) {
  for (const ScenarioResult& r : results) {
    std::vector<std::pair<std::string, std::string>> rows;
    std::string params;
    for (const Metric& p : r.params) {
      params += (params.empty() ? "" : ", ") + p.name + "=" + Human(p);
    }
    for (const Metric& m : r.metrics) rows.emplace_back(m.name, Human(m));
    std::string statuses;
    for (const auto& [code, n] : r.status_counts) {
      statuses += (statuses.empty() ? "" : " ") + code + "=" + std::to_string(n);
    }
    rows.emplace_back("grpc statuses", statuses.empty() ? "-" : statuses);
    rows.emplace_back("result", r.ok() ? "OK" : "FAILED");
    size_t w = 0;
    for (const auto& row : rows) w = std::max(w, row.first.size());
    std::cout << "\n== " << r.scenario << " (" << params << ")\n";
    for (const auto& [k, v] : rows) {
      std::cout << "  " << k << std::string(w - k.size() + 2, ' ') << v << "\n";
    }
    for (const std::string& f : r.failures) std::cout << "  FAILURE: " << f << "\n";
  }
  std::cout.flush();
}

bool WriteJson(const std::string& path, const std::vector<ScenarioResult>& results) {
  std::ostringstream out;
  utsname u{};
  uname(&u);
  out << "{\n  \"tool\": \"sotto-bench\",\n  \"unix_time\": " << std::time(nullptr)
      << ",\n  \"host\": {\"cores\": " << sysconf(_SC_NPROCESSORS_ONLN)
      << ", \"kernel\": " << JsonString(std::string(u.sysname) + " " + u.release)
      << ", \"machine\": " << JsonString(u.machine) << "},\n  \"scenarios\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const ScenarioResult& r = results[i];
    out << (i ? "," : "") << "\n    {\"scenario\": " << JsonString(r.scenario)
        << ", \"ok\": " << (r.ok() ? "true" : "false") << ",\n     \"params\": ";
    JsonMetrics(out, r.params);
    out << ",\n     \"metrics\": ";
    JsonMetrics(out, r.metrics);
    out << ",\n     \"status_counts\": {";
    size_t j = 0;
    for (const auto& [code, n] : r.status_counts) {
      out << (j++ ? ", " : "") << JsonString(code) << ": " << n;
    }
    out << "},\n     \"failures\": [";
    for (size_t k = 0; k < r.failures.size(); ++k) {
      out << (k ? ", " : "") << JsonString(r.failures[k]);
    }
    out << "]}";
  }
  out << "\n  ]\n}\n";
  std::ofstream f(path, std::ios::trunc);
  f << out.str();
  f.close();
  if (!f) {
    std::cerr << "sotto-bench: cannot write " << path << "\n";
    return false;
  }
  return true;
}

}  // namespace sotto::bench
