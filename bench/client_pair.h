#ifndef SOTTO_BENCH_CLIENT_PAIR_H_
#define SOTTO_BENCH_CLIENT_PAIR_H_

// The client-library scenarios of issue 21 (client_*_scenario.cc): a real
// sotto-server (started by World, as every scenario's), a therapist and a
// client each a real sotto::Client with its own encrypted profile in a
// temporary directory (Argon2id at the default, interactive, limits), linked
// by an invite and with one message each way already exchanged, so that the
// client's next messages are ordinary Signal messages of a continuing session.
//
// They use only the public API (sotto/client.h): they measure whatever the
// library does inside, old or new.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/report.h"
#include "bench/scenarios.h"
#include "bench/world.h"
#include "sotto/client.h"

namespace sotto::bench {

inline constexpr char kBenchPassphrase[] = "correct horse battery staple 21";

// CPU seconds (user + system) and wall seconds of a timed stretch.
struct Timed {
  double wall = 0;
  double cpu = 0;
  // Minor page faults of the process (first touches of fresh memory): ~12 us
  // of CPU each on the VM of docs/BENCHMARKS.md, so they show where a fixed
  // cost hides in a per-message figure.
  double minor_faults = 0;
};

// Starts a stopwatch on construction: wall clock and this process's CPU
// (getrusage RUSAGE_SELF: every thread, gRPC's included).
class Stopwatch {
 public:
  Stopwatch();
  Timed Elapsed() const;

 private:
  std::chrono::steady_clock::time_point start_;
  double cpu0_;
  long faults0_;
};

// While alive, `perf record` runs (when started with `-D -1
// --control fifo:FIFO` and SOTTO_BENCH_PERF_CTL=FIFO in the environment):
// a profile of the timed stretch alone, not of the fill before it. Without
// the variable it does nothing. docs/BENCHMARKS.md shows the command.
class PerfWindow {
 public:
  PerfWindow();
  ~PerfWindow();
  PerfWindow(const PerfWindow&) = delete;
  PerfWindow& operator=(const PerfWindow&) = delete;

 private:
  void Tell(const char* command);
  std::string fifo_;
};

class ClientPair {
 public:
  // Starts the server and registers both profiles under a fresh temporary
  // directory (removed by the destructor).
  static absl::StatusOr<std::unique_ptr<ClientPair>> Start(const Common& common);
  ~ClientPair();
  ClientPair(const ClientPair&) = delete;
  ClientPair& operator=(const ClientPair&) = delete;

  Client& therapist() { return *therapist_; }
  Client& client() { return *client_; }
  const std::string& therapist_dir() const { return therapist_dir_; }
  const std::string& client_dir() const { return client_dir_; }
  World& world() { return *world_; }

  // Closes the therapist's profile (the Client is destroyed) so another
  // process or Client may open it; Reopen opens it again.
  void CloseTherapist() { therapist_.reset(); }
  absl::Status ReopenTherapist();

 private:
  ClientPair() = default;
  absl::Status Register(const Common& common);

  std::unique_ptr<World> world_;
  std::string root_;
  std::string therapist_dir_, client_dir_;
  std::unique_ptr<Client> therapist_, client_;
};

// The text of the i-th benchmark message: "#<i, 8 digits> " padded to `size`
// bytes, so the order can be checked from the text alone.
std::string NumberedText(uint64_t i, size_t size);

// The client sends `n` numbered texts of `size` bytes (SendText, one after
// another) to the therapist. Each is stored and acknowledged when it returns.
absl::StatusOr<Timed> SendTexts(ClientPair& pair, uint64_t first, uint64_t n, size_t size);

// As SendTexts, from `threads` threads at once on the one Client: thread t
// sends texts first+t, first+t+threads, ... in that order.
absl::StatusOr<Timed> SendTextsFromThreads(ClientPair& pair, uint64_t first, uint64_t n,
                                           size_t size, int threads);

// Checks that the therapist's conversation holds the incoming texts
// 0..n-1 exactly once each, and the texts of each sending thread (the
// `rounds`: {first, count, threads} as SendTextsFromThreads was called) in
// the order that thread sent them. Records a failure in `r` otherwise.
struct SendRound {
  uint64_t first, count;
  int threads;
};
void VerifyOncePerThreadOrder(ScenarioResult& r, Client& therapist,
                              const std::string& client_handle,
                              const std::vector<SendRound>& rounds, size_t size);

// Checks that the therapist's conversation with the client holds the
// incoming texts first..first+n-1 exactly once and in order (after the two
// set-up messages). Records a failure in `r` otherwise.
void VerifyInOrder(ScenarioResult& r, Client& therapist, const std::string& client_handle,
                   uint64_t first, uint64_t n, size_t size);

// 1-minute load average of the machine (/proc/loadavg); the runs share it.
double LoadAverage();

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_CLIENT_PAIR_H_
