#include "server/storage/postgres_queue_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/error_log.h"
#include "server/storage/pg_session.h"

namespace sotto::server {
namespace {

class PostgresQueueBus final : public QueueBus {
 public:
  PostgresQueueBus(std::string url, Handlers handlers, PostgresQueueBusOptions options)
      : url_(std::move(url)), handlers_(std::move(handlers)), options_(std::move(options)) {}
  PostgresQueueBus(const PostgresQueueBus&) = delete;
  PostgresQueueBus& operator=(const PostgresQueueBus&) = delete;

  ~PostgresQueueBus() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    // Wakes the listener out of poll(); the publisher waits on mu_.
    const char byte = 0;
    (void)!write(stop_pipe_[1], &byte, 1);
    if (listener_.joinable()) listener_.join();
    if (publisher_.joinable()) publisher_.join();
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  // The first LISTEN, then both threads.
  absl::Status Start() {
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0) return absl::InternalError("cannot make a pipe");
    absl::StatusOr<PgConnPtr> conn = Listen();
    if (!conn.ok()) return conn.status();
    listen_conn_ = *std::move(conn);
    listener_ = std::thread([this] { RunListener(); });
    publisher_ = std::thread([this] { RunPublisher(); });
    return absl::OkStatus();
  }

  void Publish(absl::string_view queue_key) override {
    absl::MutexLock lock(&mu_);
    pending_.emplace(queue_key);
  }

 private:
  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stop_;
  }

  // Sleeps `d` or until the bus stops; false when it stops.
  bool Backoff(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
    return !stop_;
  }

  absl::StatusOr<PgConnPtr> Listen() {
    absl::StatusOr<PgConnPtr> conn = ConnectPgSession(url_);
    if (!conn.ok()) return conn.status();
    absl::StatusOr<PgResultPtr> listened =
        ExecPg(conn->get(), absl::StrCat("LISTEN ", options_.channel));
    if (!listened.ok()) return listened.status();
    return conn;
  }

  // Delivers what the listening connection has read; false when it broke.
  bool Drain() {
    PGconn* c = listen_conn_.get();
    if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) return false;
    while (PGnotify* n = PQnotifies(c)) {
      // Our own publisher's: this node's listeners were woken directly.
      if (n->be_pid != publisher_pid_.load(std::memory_order_relaxed)) {
        std::string key = BytesOfHex(n->extra);
        if (!key.empty()) handlers_.on_wake(key);
      }
      PQfreemem(n);
    }
    return true;
  }

  void RunListener() {
    absl::Duration backoff = options_.min_backoff;
    while (true) {
      if (listen_conn_ == nullptr) {
        absl::StatusOr<PgConnPtr> conn = Listen();
        if (!conn.ok()) {
          LogStorageError("queue bus: listening connection", conn.status().message());
          if (!Backoff(backoff)) return;
          backoff = std::min(backoff * 2, options_.max_backoff);
          continue;
        }
        listen_conn_ = *std::move(conn);
        backoff = options_.min_backoff;
        // NOTIFY sent while we were away reached nobody here.
        handlers_.on_gap();
      }
      pollfd fds[2] = {{PQsocket(listen_conn_.get()), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      const int ready = poll(fds, 2, -1);
      if (ready < 0) continue;  // EINTR
      if (fds[1].revents != 0 || Stopping()) return;
      if (!Drain()) {
        LogStorageError("queue bus: listening connection", "lost; reconnecting");
        listen_conn_.reset();
      }
    }
  }

  void RunPublisher() {
    PgConnPtr conn;
    absl::Duration backoff = options_.min_backoff;
    std::vector<std::string> batch;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stop_ || !pending_.empty();
        };
        mu_.Await(absl::Condition(&has_work));
        if (stop_) return;
        for (const std::string& k : pending_) batch.push_back(k);
        pending_.clear();
      }
      if (conn == nullptr) {
        absl::StatusOr<PgConnPtr> opened = ConnectPgSession(url_);
        if (!opened.ok()) {
          LogStorageError("queue bus: publishing connection", opened.status().message());
          Requeue(batch);
          if (!Backoff(backoff)) return;
          backoff = std::min(backoff * 2, options_.max_backoff);
          continue;
        }
        conn = *std::move(opened);
        publisher_pid_.store(PQbackendPID(conn.get()), std::memory_order_relaxed);
        backoff = options_.min_backoff;
      }
      // Hex payloads need no quoting; one round trip for the lot.
      std::string sql;
      for (const std::string& k : batch) {
        absl::StrAppend(&sql, "NOTIFY ", options_.channel, ", '", HexOf(k), "';");
      }
      absl::StatusOr<PgResultPtr> sent = ExecPg(conn.get(), sql);
      if (!sent.ok()) {
        LogStorageError("queue bus: publishing connection", sent.status().message());
        if (PQstatus(conn.get()) != CONNECTION_OK) conn.reset();
        Requeue(batch);
        if (!Backoff(backoff)) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      batch.clear();
    }
  }

  void Requeue(std::vector<std::string>& batch) {
    absl::MutexLock lock(&mu_);
    for (std::string& k : batch) pending_.insert(std::move(k));
    batch.clear();
  }

  const std::string url_;
  const Handlers handlers_;
  const PostgresQueueBusOptions options_;
  int stop_pipe_[2] = {-1, -1};
  // Used by the listener thread alone once it runs.
  PgConnPtr listen_conn_;
  // The publishing connection's backend, whose notifications we skip.
  std::atomic<int> publisher_pid_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> pending_ ABSL_GUARDED_BY(mu_);
  std::thread listener_;
  std::thread publisher_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<QueueBus>> StartPostgresQueueBus(
    const std::string& url, QueueBus::Handlers handlers, const PostgresQueueBusOptions& options) {
  auto bus = std::make_unique<PostgresQueueBus>(url, std::move(handlers), options);
  absl::Status started = bus->Start();
  if (!started.ok()) return started;
  return bus;
}

}  // namespace sotto::server
