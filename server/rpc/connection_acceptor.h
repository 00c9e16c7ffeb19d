#ifndef SOTTO_SERVER_RPC_CONNECTION_ACCEPTOR_H_
#define SOTTO_SERVER_RPC_CONNECTION_ACCEPTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace grpc::experimental {
class ExternalConnectionAcceptor;
}

namespace sotto::server::rpc {

// Owns the TCP listening sockets and the accept loop, and hands each
// accepted connection to gRPC (ServerBuilder's external connection
// acceptor, which serves it with the server's credentials and channel
// arguments as if gRPC had accepted it).
//
// Why not gRPC's own listener: in 1.51 it stops accepting for good after
// its first EMFILE (tcp_server_posix.cc's on_read leaves the listener
// unarmed on any error but EAGAIN/ECONNABORTED), it sets SO_REUSEPORT so a
// second server on the same port silently takes half the connections, and
// it has no per-address or total connection limit. Here:
//  - out of descriptors, a reserved descriptor is released to accept and
//    close the waiting connection, so the backlog drains, and accepting
//    resumes by itself as soon as descriptors are free again;
//  - connections beyond max_connections in all, or beyond
//    max_connections_per_address from one source address, are closed at
//    once (the client sees the connection close and retries later);
//  - the sockets are bound without SO_REUSEPORT: an address in use is an
//    error at start.
// Open connections are counted without any callback from gRPC (it has
// none): each accepted descriptor is remembered with its socket inode, and a
// sweep (every second, and before refusing for a limit) forgets those whose
// descriptor is closed or now names another file.
class ConnectionAcceptor {
 public:
  struct Options {
    // host:port; host a name, an IPv4 address or a bracketed IPv6 address.
    // "[::]" listens on IPv6 and IPv4. Port 0 picks a free port.
    std::string listen_address;
    // Connections open at once; 0: no limit.
    size_t max_connections = 0;
    // Connections open at once from one source IP address; 0: no limit.
    size_t max_connections_per_address = 0;
  };

  // Counters since Listen; thread-safe to read.
  struct Counters {
    uint64_t accepted = 0;
    uint64_t refused_per_address = 0;
    uint64_t refused_total = 0;
    uint64_t refused_out_of_descriptors = 0;
  };

  // Binds and listens on every address the host resolves to. Errors:
  // INVALID_ARGUMENT for an address that is not host:port or does not
  // resolve; UNAVAILABLE naming the address and the system's reason (e.g.
  // "Address already in use") if it cannot be bound.
  static absl::StatusOr<std::unique_ptr<ConnectionAcceptor>> Listen(const Options& options);

  ConnectionAcceptor(const ConnectionAcceptor&) = delete;
  ConnectionAcceptor& operator=(const ConnectionAcceptor&) = delete;
  // Stops (if not yet) and closes the listening sockets.
  ~ConnectionAcceptor();

  // The bound port.
  int port() const { return port_; }

  // Starts the accept thread; every connection accepted goes to `sink`.
  // Call once, after the gRPC server owning `sink` has started.
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> sink);
  // Stops accepting and joins the thread; connections already handed over
  // stay with gRPC. Call before shutting the gRPC server down (gRPC leaks a
  // connection handed to it after that). Idempotent.
  void Stop();

  Counters counters() const;
  // Connections handed to gRPC and not yet seen closed (as of the last
  // sweep).
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  struct Tracked {
    std::string address;
    uint64_t inode = 0;
  };

  ConnectionAcceptor(Options options, std::vector<int> listeners, int port);

  void Run();
  // Accepts what waits on `listener`; false once out of descriptors (the
  // loop then waits a little before trying again).
  bool AcceptAll(int listener);
  // Out of descriptors: frees the reserve to accept and close one waiting
  // connection.
  void ShedOne(int listener);
  // Whether the connection from `address` may be served; counts refusals.
  bool Admit(const std::string& address);
  void Track(int fd, std::string address);
  void Forget(absl::flat_hash_map<int, Tracked>::iterator it);
  void Sweep();

  const Options options_;
  const std::vector<int> listeners_;
  const int port_;
  int reserve_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> sink_;
  std::thread thread_;
  bool stopped_ = false;

  // Used by the accept thread only.
  absl::flat_hash_map<int, Tracked> tracked_;
  absl::flat_hash_map<std::string, size_t> per_address_;
  int64_t last_sweep_ns_ = 0;
  int64_t last_warning_ns_ = 0;

  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_per_address_{0};
  std::atomic<uint64_t> refused_total_{0};
  std::atomic<uint64_t> refused_descriptors_{0};
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CONNECTION_ACCEPTOR_H_
