#include "server/storage/postgres_pool.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::server {

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  {
    mu_.LockWhen(absl::Condition(this, &PgPool::Available));
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> c = std::move(idle_.back());
      idle_.pop_back();
      mu_.Unlock();
      return Lease(this, std::move(c));
    }
    ++open_;  // counted while connecting, so the limit holds
    mu_.Unlock();
  }
  // Connecting takes a round trip or more (TLS, authentication): outside
  // the lock, so other callers keep getting idle connections.
  auto c = std::make_unique<PgConnection>();
  try {
    c->conn = std::make_unique<pqxx::connection>(url_);
    if (setup_ != nullptr) setup_(*c->conn);
  } catch (const std::exception& e) {
    absl::MutexLock lock(&mu_);
    --open_;
    return absl::UnavailableError(absl::StrCat("cannot connect: ", e.what()));
  }
  return Lease(this, std::move(c));
}

void PgPool::DropIdle() {
  std::vector<std::unique_ptr<PgConnection>> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped.swap(idle_);
    open_ -= dropped.size();
  }
  // Closed here, outside the lock.
}

void PgPool::Release(std::unique_ptr<PgConnection> c) {
  const bool usable = !c->broken && c->conn != nullptr && c->conn->is_open();
  if (usable) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(c));
    return;
  }
  c.reset();  // closed outside the lock
  {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  DropIdle();
}

}  // namespace sotto::server
