// sotto-server stats --data-dir DIR
//
// prints the running server's counters (Operator.Stats), one "name value"
// line each; exit 1 if no server runs on DIR.

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

// " (UNAUTHENTICATED 2, ...)" for the nonzero codes, or "" with none; their
// sum into `*failed`.
std::string FailedByCode(const sotto::v1::StatsResponse& stats, uint64_t* failed) {
  std::string by_code;
  for (int code = 0; code < stats.sends_failed_by_code_size(); ++code) {
    const uint64_t n = stats.sends_failed_by_code(code);
    if (n == 0) continue;
    *failed += n;
    absl::StrAppend(&by_code, by_code.empty() ? " (" : ", ",
                    absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), " ", n);
  }
  if (!by_code.empty()) by_code += ")";
  return by_code;
}

void PrintStats(const sotto::v1::StatsResponse& s) {
  uint64_t failed = 0;
  const std::string by_code = FailedByCode(s, &failed);
  std::cout << "uptime_s " << s.uptime_ms() / 1000 << "\n"
            << "sends_ok " << s.sends_ok() << "\n"
            << "sends_duplicate " << s.sends_duplicate() << "\n"
            << "sends_failed " << failed << by_code << "\n"
            << "envelopes_accepted " << s.envelopes_accepted() << "\n"
            << "envelopes_fetched " << s.envelopes_fetched() << "\n"
            << "envelopes_streamed " << s.envelopes_streamed() << "\n"
            << "envelopes_acked " << s.envelopes_acked() << "\n"
            << "subscriptions_open " << s.subscriptions_open() << "\n"
            << "subscriptions_replaced " << s.subscriptions_replaced() << "\n"
            << "log_syncs " << s.log_syncs() << "\n"
            << "synced_calls " << s.synced_calls() << "\n"
            << "log_sync_mean_us " << (s.log_syncs() > 0 ? s.log_sync_micros() / s.log_syncs() : 0)
            << "\n"
            << "log_sync_max_us " << s.log_sync_max_micros() << "\n"
            << "log_syncs_over_10ms " << s.log_syncs_over_10ms() << "\n"
            << "log_syncs_over_100ms " << s.log_syncs_over_100ms() << "\n"
            << "pool_threads " << s.pool_threads() << std::endl;
}

}  // namespace

Subcommand AddStatsCommand(CLI::App& app) {
  auto data_dir = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("stats", "print the running server's counters (sends, deliveries, syncs)");
  AddDataDirOption(cmd, data_dir.get());
  return {cmd, [data_dir] {
            absl::StatusOr<sotto::v1::StatsResponse> stats =
                OpenOperatorBackend(*data_dir)->Stats();
            if (!stats.ok()) return Fail("stats", stats.status());
            PrintStats(*stats);
            return 0;
          }};
}

}  // namespace sotto::server::cli
