#ifndef SOTTO_SERVER_RPC_SERVER_METRICS_H_
#define SOTTO_SERVER_RPC_SERVER_METRICS_H_

#include <string>

#include "absl/time/time.h"
#include "server/rpc/server_stats.h"
#include "server/storage/store.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {

// What one running server adds to a scrape (internal to server/rpc; names
// in docs/OPERATIONS.md "## Metrics"): build info and start time, the
// envelope and stream counters of `stats`, the queue totals read from
// `store` (QueueTotals), the process's memory and descriptors, the data
// directory's free space and the established connections to `grpc_port`.
// Not owned; all must outlive the collector's registration.
struct ServerMetricsSources {
  const ServerStats* stats = nullptr;
  Store* store = nullptr;
  std::string data_dir;
  int grpc_port = 0;
  absl::Time started;
};
metrics::Registry::Collector ServerCollector(ServerMetricsSources sources);

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_SERVER_METRICS_H_
