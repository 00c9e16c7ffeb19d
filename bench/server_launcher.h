#ifndef SOTTO_BENCH_SERVER_LAUNCHER_H_
#define SOTTO_BENCH_SERVER_LAUNCHER_H_

// Starts the real sotto-server binary on a fresh temporary data directory,
// listening on 127.0.0.1:0, like tests/testing/server_process.h, plus extra
// server flags (the benchmark turns the per-address and per-device rate
// limits off) and the child's pid (for /proc/PID/status).

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sotto::bench {

#ifdef SOTTO_SERVER_BINARY
inline constexpr const char* kDefaultServerBinary = SOTTO_SERVER_BINARY;
#else
inline constexpr const char* kDefaultServerBinary = "sotto-server";
#endif

class ServerLauncher {
 public:
  // Returns once the server printed "sotto-server listening on HOST:PORT"
  // (at most 30 s).
  static absl::StatusOr<std::unique_ptr<ServerLauncher>> Start(
      const std::string& binary, const std::vector<std::string>& extra_args);
  // Kills a running server (SIGKILL) and deletes the data directory.
  ~ServerLauncher();
  ServerLauncher(const ServerLauncher&) = delete;
  ServerLauncher& operator=(const ServerLauncher&) = delete;

  // SIGTERM, then SIGKILL after 10 s. OK only for a clean exit 0.
  absl::Status Stop();

  const std::string& address() const { return address_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

 private:
  ServerLauncher() = default;
  std::string data_dir_;
  std::string address_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

// The `--rate-*` flags `binary --help` lists, each set to "0/0" (no limit,
// as sotto-server documents). Empty if the server has none. The benchmark
// measures throughput from a few busy devices on one address, which the
// abuse limits exist to stop.
std::vector<std::string> RateLimitsOffArgs(const std::string& binary);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SERVER_LAUNCHER_H_
