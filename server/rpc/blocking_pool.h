#ifndef SOTTO_SERVER_RPC_BLOCKING_POOL_H_
#define SOTTO_SERVER_RPC_BLOCKING_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sotto::server::rpc {

// Threads that run the blocking part of unary handlers (internal to
// server/rpc). gRPC 1.51 runs callback handlers on a few threads (about one
// per core); a handler that waited there for the disk would stall every
// other call. Handlers whose work may wait on the disk (synced writes of
// registrations, links, key uploads, which wait for the log syncer's next
// group sync; reads) run here instead. (Send does not wait for the disk at
// all and runs on gRPC's thread; Ack's reply comes from the LogSyncer.)
//
// The pool grows on demand: a task that finds no idle worker starts one, up
// to `max_threads`; a worker idle for `idle_timeout` (default 10 s) exits,
// down to none.
// An idle server therefore holds no pool threads, a busy one as many as its
// load keeps waiting. Thread-safe.
class BlockingPool {
 public:
  // At most `max_threads` workers (at least 1); at most `max_queued` tasks
  // (at least 1) wait for one. More are refused, so a burst fails fast
  // instead of queueing without bound.
  BlockingPool(size_t max_threads, size_t max_queued,
               absl::Duration idle_timeout = absl::Seconds(10));
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  // Stop().
  ~BlockingPool();

  // Queues `task` to run on a worker, starting one if every worker is busy
  // and fewer than `max_threads` run. Returns false, and drops `task`
  // without running it, when `max_queued` tasks already wait or Stop has
  // begun.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

  // Refuses new tasks, runs every task already queued (each may hold a call
  // that must be Finished), and joins the workers. Idempotent; must not be
  // called from a worker.
  void Stop();

  // Workers alive now (for tests and the operator's stats).
  size_t threads() const;

 private:
  void Work();
  // Joins workers that have exited. Not under mu_.
  static void Join(std::vector<std::thread> exited);

  const size_t max_threads_;
  const size_t max_queued_;
  const absl::Duration idle_timeout_;
  mutable absl::Mutex mu_;
  absl::CondVar work_;     // a task was queued, or Stop began
  absl::CondVar emptied_;  // the last worker exited
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Workers waiting for a task.
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  // Running workers by id; a worker that exits moves itself to exited_,
  // whose threads the next TrySubmit or Stop joins.
  std::map<std::thread::id, std::thread> live_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_BLOCKING_POOL_H_
