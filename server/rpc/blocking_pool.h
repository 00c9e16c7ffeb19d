#ifndef SOTTO_SERVER_RPC_BLOCKING_POOL_H_
#define SOTTO_SERVER_RPC_BLOCKING_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sotto::server::rpc {

// A fixed set of threads that run the blocking part of unary handlers
// (internal to server/rpc). gRPC 1.51 runs callback handlers on a few
// threads (about one per core); a handler that waits for a synced RocksDB
// write holds one of them, so at most that many writes ever meet in
// RocksDB's write group and share a WAL sync. Handing the work to this pool
// lets as many writes wait together as the pool has threads, which is what
// makes group commit pay off. Thread-safe.
class BlockingPool {
 public:
  // Starts `threads` workers (at least 1). At most `max_queued` tasks (at
  // least 1) wait for a worker; more are refused, so a burst fails fast
  // instead of queueing without bound.
  BlockingPool(size_t threads, size_t max_queued);
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  // Stop().
  ~BlockingPool();

  // Queues `task` to run on a worker. Returns false, and drops `task`
  // without running it, when `max_queued` tasks already wait or Stop has
  // begun.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

  // Refuses new tasks, runs every task already queued (each may hold a call
  // that must be Finished), and joins the workers. Idempotent; must not be
  // called from a worker.
  void Stop();

 private:
  void Work();
  bool Ready() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Written only by the constructor and Stop (under stop_mu_).
  absl::Mutex stop_mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_BLOCKING_POOL_H_
