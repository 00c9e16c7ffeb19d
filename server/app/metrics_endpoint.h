#ifndef SOTTO_SERVER_APP_METRICS_ENDPOINT_H_
#define SOTTO_SERVER_APP_METRICS_ENDPOINT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sotto::server {

struct MetricsEndpointOptions {
  // HOST:PORT (a numeric address or "localhost"; IPv6 bracketed, as
  // "[::1]:9464"). Port 0 picks a free port. Which hosts are allowed is
  // the caller's policy (sotto-server: loopback unless
  // --metrics-allow-remote).
  std::string listen;
  // The body of GET /metrics, built when the request arrives.
  std::function<std::string()> render;
  // A connection must deliver its request and take the whole answer within
  // this; then it is closed (slow or stalled clients hold no slot longer).
  absl::Duration timeout = absl::Seconds(5);
  // Request line and headers together; a longer request is answered 431.
  size_t max_request_bytes = 8192;
  // Connections served at once; one more is closed at once.
  size_t max_connections = 16;
};

// A minimal HTTP/1.1 server for Prometheus scrapes: GET /metrics (a query
// string is ignored) answers 200 with `render()` as text/plain version
// 0.0.4; another path 404, another method 405, a request that does not
// parse 400, an oversized one 431, a version other than HTTP/1.0 or 1.1
// 505. One request per connection (Connection: close); no keep-alive, no
// request bodies, no TLS. One thread with poll(2) over non-blocking
// sockets; nothing a client sends can make it allocate more than
// max_connections * max_request_bytes. Thread-safe.
class MetricsEndpoint {
 public:
  // Binds and starts serving. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE if it cannot be bound (in use: no SO_REUSEPORT here).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(MetricsEndpointOptions options);

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  // Stop().
  ~MetricsEndpoint();

  // The bound port.
  int port() const { return port_; }
  // Closes the listener and every connection and joins the thread; after
  // it returns `render` is not running and never runs again. Idempotent.
  void Stop();

 private:
  MetricsEndpoint(MetricsEndpointOptions options, int listen_fd, int port, int wake_read,
                  int wake_write);
  void Run();

  const MetricsEndpointOptions options_;
  const int listen_fd_;
  const int port_;
  const int wake_read_;  // Stop writes a byte to wake_write_ to end Run
  const int wake_write_;
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_METRICS_ENDPOINT_H_
