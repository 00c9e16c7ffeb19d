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

// Every --rate-* limit off and --log-level=warn: the benchmark measures
// throughput from a few busy devices on one address, which the abuse limits
// exist to stop, and not the request log (testing::RateLimitsOffArgs).
using testing::RateLimitsOffArgs;

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SERVER_LAUNCHER_H_
