#ifndef SOTTO_BENCH_SERVER_LAUNCHER_H_
#define SOTTO_BENCH_SERVER_LAUNCHER_H_

// Server flags for the benchmark. The server itself is started by
// tests/testing/server_process.h (testing::ServerProcess), the launcher the
// tests use too.

#include <string>
#include <vector>

#include "testing/server_process.h"

namespace sotto::bench {

// The sotto-server built with this tree.
inline constexpr const char* kDefaultServerBinary = testing::kServerBinary;

// The `--rate-*` flags `binary --help` lists, each set to "0/0" (no limit,
// as sotto-server documents). Empty if the server has none. The benchmark
// measures throughput from a few busy devices on one address, which the
// abuse limits exist to stop.
// Also --log-level=warn, so the request log is not part of what is timed.
std::vector<std::string> RateLimitsOffArgs(const std::string& binary);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SERVER_LAUNCHER_H_
