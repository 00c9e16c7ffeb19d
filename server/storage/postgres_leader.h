#ifndef SOTTO_SERVER_STORAGE_POSTGRES_LEADER_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_LEADER_H_

// One leader among the sotto-server nodes on one PostgreSQL database, for
// the work that must run once, not once per node: the send-later releaser
// and the sweeper (issue 17).
//
// The leader holds a session-level advisory lock (pg_try_advisory_lock) on
// a connection of its own. The database frees the lock when that session
// ends: a node that stops, crashes or loses its connection stops leading
// and the next node to try takes it. Every node tries (or, leading, checks
// its connection with SELECT 1) once per `interval`: a follower takes over
// within about one interval of the leader's session ending. A node whose
// leading connection fails stops leading at once (before another node can
// have the lock, which needs the session gone); a node whose host vanished
// silently is noticed by TCP keepalives (pg_session.h, about 11 s) on this
// side, and by the database's tcp_keepalives_* on the other.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sotto::server {

struct PostgresLeaderOptions {
  // The advisory lock's key; every node of one deployment must use the same
  // ("sotto" in ASCII).
  int64_t lock_key = 0x736f74746f;
  absl::Duration interval = absl::Seconds(1);
};

class PostgresLeader {
 public:
  // Starts trying at once (on its own thread). `on_change(true)` runs when
  // this node becomes leader, `on_change(false)` when it stops; on that
  // thread, quick. Connection failures are logged and retried; never fatal.
  PostgresLeader(std::string url, std::function<void(bool)> on_change,
                 PostgresLeaderOptions options = {});
  PostgresLeader(const PostgresLeader&) = delete;
  PostgresLeader& operator=(const PostgresLeader&) = delete;
  // Closes the connection (freeing the lock for another node). Joins.
  ~PostgresLeader();

  // Whether this node holds the lock, as of its last try or check.
  bool held() const { return held_.load(std::memory_order_acquire); }

 private:
  void Run();
  void SetHeld(bool held);

  const std::string url_;
  const std::function<void(bool)> on_change_;
  const PostgresLeaderOptions options_;
  std::atomic<bool> held_{false};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_LEADER_H_
