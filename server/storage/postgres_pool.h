#ifndef SOTTO_SERVER_STORAGE_POSTGRES_POOL_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_POOL_H_

// The connections of a PostgresStore (postgres_store.h). A libpqxx
// connection serves one caller at a time, so each Store call leases one for
// the duration of its statement or transaction. Connections open on demand
// up to a limit (a burst past it waits rather than opening more: the
// database's max_connections is shared by every sotto-server node) and are
// kept for reuse; one found broken (the database restarted, a failover) is
// dropped when its lease ends and the next lease opens a fresh one, so the
// store reconnects by itself.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "pqxx/connection"

namespace sotto::server {

// One pooled connection and what this process has prepared on it.
struct PgConnection {
  std::unique_ptr<pqxx::connection> conn;
  // Names of the statements prepared on `conn` (prepared on first use).
  absl::flat_hash_set<std::string> prepared;
  // Set by a caller that saw the connection fail: it is closed, not reused.
  bool broken = false;
};

class PgPool {
 public:
  // Sets each new connection up: runs after connecting, before first use.
  // An exception from it (a pqxx error) fails that Acquire.
  using Setup = void (*)(pqxx::connection&);

  PgPool(std::string url, size_t max_connections, Setup setup)
      : url_(std::move(url)), max_(max_connections == 0 ? 1 : max_connections), setup_(setup) {}
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection for the holder alone; it returns to the pool when the
  // lease ends, or is closed if the caller saw it break (Release).
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr && c_ != nullptr) pool_->Release(std::move(c_));
    }
    PgConnection& operator*() const { return *c_; }
    PgConnection* operator->() const { return c_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> c_;
  };

  // An idle connection, or a new one while fewer than the limit are open,
  // else waits for one to come back. Errors: UNAVAILABLE when connecting
  // fails, with libpq's reason (which may name the host: for the log, not
  // for a client).
  absl::StatusOr<Lease> Acquire() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Keeps `c` for reuse; one that broke is closed, and so is every idle
  // one: a database restart or failover breaks them all, and each would
  // otherwise fail one more request before the pool noticed.
  void Release(std::unique_ptr<PgConnection> c) ABSL_LOCKS_EXCLUDED(mu_);
  void DropIdle() ABSL_LOCKS_EXCLUDED(mu_);
  bool Available() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < max_;
  }

  const std::string url_;
  const size_t max_;
  const Setup setup_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;  // idle and leased
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_POOL_H_
