#ifndef SOTTO_SERVER_STORAGE_LOG_SYNCER_H_
#define SOTTO_SERVER_STORAGE_LOG_SYNCER_H_

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/store.h"

namespace sotto::server {

// Group commit for writes that must be durable before they are
// acknowledged. A caller writes kBuffered (visible at once, no fsync), then
// hands AfterSync the acknowledgement. One thread syncs the store's log for
// everything handed over since its last sync and then runs each
// acknowledgement with the result, so a burst of concurrent writes shares one
// fsync and nobody waits for it on a thread of their own.
//
// Guarantee: `done(OK)` runs only after a Store::SyncLog that began after
// AfterSync was called, so the caller's earlier write is on disk. Thread-safe.
// Does not own `store`, which must outlive it.
class LogSyncer {
 public:
  // At most `max_waiting` hand-overs wait for a sync before Busy() says so.
  // `failures_final`: see AfterSync. False for a store whose SyncLog is a
  // database's commit (PostgresStore): a failed one means the connection or
  // the database went away, not that written pages were dropped; what a
  // crash lost is absent, not shown (a retried Send is stored again), so a
  // later sync that succeeds is true for everything still visible, and the
  // server keeps serving once the database is back (a restart, a failover).
  explicit LogSyncer(Store* store, size_t max_waiting = 65536, bool failures_final = true);
  LogSyncer(const LogSyncer&) = delete;
  LogSyncer& operator=(const LogSyncer&) = delete;
  // Stop().
  ~LogSyncer();

  // Runs `done` on the syncer's thread once the log is synced (OK) or the
  // sync failed (its error). `done` must be quick and must not call
  // AfterSync. After Stop, `done` runs at once with FAILED_PRECONDITION.
  //
  // A failed sync is final: every later `done` gets its error too. After a
  // failed fsync the kernel may have dropped the dirty pages while a later
  // fsync succeeds, so a retry (a duplicate of a write already in the
  // memtable) must never be told it is durable. The operator restarts the
  // server, which recovers from what is really on disk.
  void AfterSync(std::function<void(absl::Status)> done);

  // Blocks until a sync that began after this call has finished and returns
  // its result: AfterSync for a caller that has nothing else to do
  // meanwhile. On the syncer's own thread (from a `done`) and after Stop it
  // syncs the store itself instead of waiting for a thread that will not
  // come, so it never deadlocks and never reports an unsynced write as
  // durable. The first failed sync is final here too.
  absl::Status WaitForSync();

  // True while `max_waiting` hand-overs wait (the disk stalls): callers
  // refuse new work instead of piling it up.
  bool Busy() const;

  // Syncs and acknowledges whatever is waiting, then joins the thread.
  // Idempotent.
  void Stop();

  // Syncs performed so far, and the hand-overs they answered (the
  // operator's stats).
  uint64_t syncs() const;
  uint64_t calls() const;

  // How long the syncs took, as the disk answered them. Every Send and Ack
  // waits for one, so a slow disk shows here before anywhere else.
  struct SyncTimes {
    uint64_t total_micros = 0;  // all syncs together (mean: / syncs())
    uint64_t max_micros = 0;    // the slowest
    uint64_t over_10ms = 0;     // syncs that took 10 ms or more
    uint64_t over_100ms = 0;    // ... 100 ms or more
  };
  SyncTimes sync_times() const;

 private:
  void Run();
  // Syncs the store unless an earlier sync failed; counts `calls` answered.
  absl::Status SyncOnce(size_t calls) ABSL_LOCKS_EXCLUDED(mu_, sync_mu_);
  void RecordFailure(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const size_t max_waiting_;
  const bool failures_final_;
  // Held over each SyncLog (taken before mu_, never while a `done` runs).
  absl::Mutex sync_mu_;
  mutable absl::Mutex mu_;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);  // the first failed sync's error
  std::vector<std::function<void(absl::Status)>> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  SyncTimes times_ ABSL_GUARDED_BY(mu_);
  uint64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex stop_mu_;
  std::thread thread_;
  std::thread::id thread_id_;  // thread_'s, set in the constructor
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_LOG_SYNCER_H_
