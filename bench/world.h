#ifndef SOTTO_BENCH_WORLD_H_
#define SOTTO_BENCH_WORLD_H_

// The server under test and the accounts a scenario uses. World starts the
// real sotto-server binary on a fresh temporary data directory (127.0.0.1:0,
// loopback only; with tests/testing/server_process.h, the tests' launcher) and sets accounts up
// through the real RPCs: therapists enrolled with `sotto-server enrol-therapist --quiet`, clients
// registered with invite codes from Care.CreateInvite, every device with real Signal keys. Not
// thread-safe, except where a method says so.

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "sotto/v1/operator.pb.h"
#include "testing/server_process.h"

namespace sotto::bench {

// Every RPC sotto-bench makes carries a deadline of this long.
inline constexpr std::chrono::seconds kRpcDeadline(30);

struct Device {
  std::string handle;
  uint32_t device_id = 0;
  uint32_t registration_id = 0;
  // "Sotto <handle>.<device>:<64 hex>", the authorization metadata value.
  std::string authorization;
};

// A therapist and a client linked by an invite.
struct Pair {
  size_t therapist = 0;  // Index into World::therapists().
  Device client;
};

// From /proc/PID/status.
struct ProcStatus {
  uint64_t rss_kib = 0;
  uint64_t peak_rss_kib = 0;
  uint64_t threads = 0;
};

class World {
 public:
  // Starts `server_binary` (default: the sotto-server built with this tree)
  // on a fresh data dir and opens `channels` gRPC channels, each its own TCP
  // connection: to it, or, with `nodes` (other servers on its database),
  // channel i to node i % (1 + nodes.size()), the started server first.
  static absl::StatusOr<std::unique_ptr<World>> Start(const std::string& server_binary,
                                                      const std::vector<std::string>& server_args,
                                                      int channels,
                                                      const std::vector<std::string>& nodes = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Registers `count` more pairs, each client linked to a therapist that has
  // fewer than `clients_per_therapist` clients (new therapists are enrolled
  // as needed), using `threads` threads. Fails on the first RPC error.
  absl::Status AddPairs(size_t count, size_t clients_per_therapist, int threads = 8);

  const std::vector<Pair>& pairs() const { return pairs_; }
  const std::vector<Device>& therapists() const { return therapists_; }
  const Device& therapist_of(size_t pair) const { return therapists_[pairs_[pair].therapist]; }

  // Thread-safe. A stub on channel `i % channels`.
  sotto::v1::Messages::Stub* messages(size_t i) const {
    return messages_[i % messages_.size()].get();
  }
  std::shared_ptr<grpc::Channel> channel(size_t i) const { return channels_[i % channels_.size()]; }

  const std::string& address() const { return server_->address(); }
  // The servers the channels reach: the started one and the other nodes.
  size_t nodes() const { return nodes_; }
  const std::string& data_dir() const { return server_->data_dir(); }
  pid_t server_pid() const { return server_->pid(); }
  // Thread-safe. Zeroes if /proc cannot be read.
  ProcStatus ReadServerStatus() const;
  // User + system CPU seconds the server used so far (/proc/PID/stat); 0 if
  // unreadable. Thread-safe.
  double ServerCpuSeconds() const;
  // The server's own counters (Operator.Stats over DATA_DIR/operator.sock).
  absl::StatusOr<sotto::v1::StatsResponse> ServerStats() const;

 private:
  World() = default;
  absl::StatusOr<std::string> EnrolTherapist(const std::string& handle) const;
  absl::StatusOr<Device> Register(const std::string& handle, bool therapist,
                                  const std::string& code) const;
  absl::StatusOr<std::string> CreateInvite(const Device& therapist) const;

  std::string server_binary_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<sotto::v1::Messages::Stub>> messages_;
  std::vector<Device> therapists_;
  std::vector<size_t> clients_of_;  // Per therapist.
  std::vector<Pair> pairs_;
  size_t nodes_ = 1;
};

// User + system CPU seconds this process used so far.
double SelfCpuSeconds();

// Adds the authorization metadata and kRpcDeadline to `context`.
void Authorize(grpc::ClientContext& context, const Device& device);

// gRPC status code name ("OK", "UNAVAILABLE", ...).
std::string CodeName(grpc::StatusCode code);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_WORLD_H_
