#ifndef SOTTO_SERVER_APP_PROCESS_METRICS_H_
#define SOTTO_SERVER_APP_PROCESS_METRICS_H_

// Values read from the kernel at scrape time (Linux /proc and statvfs), for
// the metrics endpoint. Each function appends its families to `out`; a
// value that cannot be read is left out rather than reported as 0, so an
// alert on it does not fire on a read error.

#include <string>

#include "sotto/metrics.h"

namespace sotto::server {

// sotto_process_resident_memory_bytes, sotto_process_open_fds,
// sotto_process_max_fds (the soft RLIMIT_NOFILE).
void AppendProcessMetrics(metrics::Exposition& out);

// sotto_data_dir_free_bytes (available to the server's user, as `df`
// shows), sotto_data_dir_size_bytes, sotto_data_dir_free_inodes of the
// filesystem holding `dir`.
void AppendDiskMetrics(const std::string& dir, metrics::Exposition& out);

// sotto_tcp_connections: established TCP connections whose local port is
// `port` (the gRPC listener), counted in /proc/net/tcp and tcp6. gRPC 1.51
// does not report its connections; the kernel's table is the truth a
// descriptor flood shows in.
void AppendConnectionMetrics(int port, metrics::Exposition& out);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_PROCESS_METRICS_H_
