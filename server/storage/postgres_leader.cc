#include "server/storage/postgres_leader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/storage/error_log.h"
#include "server/storage/pg_session.h"
#include "sotto/log.h"

namespace sotto::server {

PostgresLeader::PostgresLeader(std::string url, std::function<void(bool)> on_change,
                               PostgresLeaderOptions options)
    : url_(std::move(url)), on_change_(std::move(on_change)), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

PostgresLeader::~PostgresLeader() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void PostgresLeader::SetHeld(bool held) {
  if (held_.exchange(held, std::memory_order_acq_rel) == held) return;
  log::Info(held ? "this node now leads (send-later releases, sweeps)"
                 : "this node no longer leads (send-later releases, sweeps)");
  if (on_change_) on_change_(held);
}

void PostgresLeader::Run() {
  PgConnPtr conn;
  const std::string try_lock = absl::StrCat("SELECT pg_try_advisory_lock(", options_.lock_key, ")");
  while (true) {
    if (conn == nullptr) {
      absl::StatusOr<PgConnPtr> opened = ConnectPgSession(url_);
      if (opened.ok()) {
        conn = *std::move(opened);
      } else {
        LogStorageError("leader election", opened.status().message());
      }
    }
    if (conn != nullptr) {
      // Leading: is the session (and so the lock) still there? Following:
      // is the lock free now?
      absl::StatusOr<PgResultPtr> r = ExecPg(conn.get(), held() ? "SELECT true" : try_lock);
      if (!r.ok()) {
        SetHeld(false);
        LogStorageError("leader election", r.status().message());
        conn.reset();
      } else {
        SetHeld(PQntuples(r->get()) == 1 && PQgetvalue(r->get(), 0, 0)[0] == 't');
      }
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval);
    if (stop_) break;
  }
  // Closing the session frees the lock; stop first so nothing more starts.
  SetHeld(false);
}

}  // namespace sotto::server
