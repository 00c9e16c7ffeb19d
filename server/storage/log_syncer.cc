#include "server/storage/log_syncer.h"

#include <utility>

namespace sotto::server {

LogSyncer::LogSyncer(Store* store) : store_(store), thread_([this] { Run(); }) {}

LogSyncer::~LogSyncer() { Stop(); }

void LogSyncer::AfterSync(std::function<void(absl::Status)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      waiting_.push_back(std::move(done));
      return;
    }
  }
  done(absl::FailedPreconditionError("the server is shutting down; the write may not be durable"));
}

void LogSyncer::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t LogSyncer::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}

uint64_t LogSyncer::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

void LogSyncer::Run() {
  for (;;) {
    std::vector<std::function<void(absl::Status)>> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !waiting_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (waiting_.empty()) return;  // stopping, nothing left
      batch.swap(waiting_);
    }
    // Every write behind `batch` returned before its AfterSync, hence before
    // this sync begins.
    const absl::Status status = store_->SyncLog();
    {
      absl::MutexLock lock(&mu_);
      ++syncs_;
      calls_ += batch.size();
    }
    for (auto& done : batch) done(status);
  }
}

}  // namespace sotto::server
