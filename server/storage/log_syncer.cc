#include "server/storage/log_syncer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "sotto/log.h"
#include "sotto/metrics.h"

namespace sotto::server {
namespace {

metrics::Histogram& SyncSeconds() {
  static metrics::Histogram& histogram = metrics::Global().GetHistogram(
      "sotto_log_sync_duration_seconds",
      "Write-ahead-log syncs (fsync) by duration; every Send and Ack waits for one.",
      metrics::LatencyBuckets());
  return histogram;
}

metrics::Gauge& SyncFailed() {
  static metrics::Gauge& gauge = metrics::Global().GetGauge(
      "sotto_log_sync_failed",
      "1 once a WAL sync failed: nothing more is acknowledged until a restart.");
  return gauge;
}

}  // namespace

LogSyncer::LogSyncer(Store* store, size_t max_waiting, bool failures_final)
    : store_(store), max_waiting_(max_waiting), failures_final_(failures_final) {
  // In every scrape from the start (zeros), so alerts need no absent().
  SyncSeconds();
  SyncFailed();
  thread_ = std::thread([this] { Run(); });
  thread_id_ = thread_.get_id();
}

LogSyncer::~LogSyncer() { Stop(); }

void LogSyncer::AfterSync(std::function<void(absl::Status)> done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) {
      refused = failed_;
    } else if (stopping_) {
      refused = absl::FailedPreconditionError(
          "the server is shutting down; the write may not be durable");
    } else {
      waiting_.push_back(std::move(done));
      return;
    }
  }
  done(refused);
}

absl::Status LogSyncer::WaitForSync() {
  bool sync_here = std::this_thread::get_id() == thread_id_;
  absl::Status result;
  if (!sync_here) {
    absl::Notification done;
    AfterSync([&](absl::Status s) {
      result = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    // Refused because the syncer stopped (not because a sync failed).
    absl::MutexLock lock(&mu_);
    sync_here = stopping_ && failed_.ok() && absl::IsFailedPrecondition(result);
  }
  if (!sync_here) return result;
  return SyncOnce(1);
}

absl::Status LogSyncer::SyncOnce(size_t calls) {
  // One sync at a time, and the failure check under the same lock: after a
  // failed fsync the next one may succeed although the pages are gone, so
  // nobody may sync (and be told OK) between a failure and its recording.
  // Not under mu_, so AfterSync and Busy never wait for the disk.
  absl::MutexLock sync_lock(&sync_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) return failed_;
  }
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = store_->SyncLog();
  const uint64_t micros =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  SyncSeconds().Observe(static_cast<double>(micros) / 1e6);
  absl::MutexLock lock(&mu_);
  ++syncs_;
  calls_ += calls;
  times_.total_micros += micros;
  times_.max_micros = std::max(times_.max_micros, micros);
  if (micros >= 10'000) ++times_.over_10ms;
  if (micros >= 100'000) ++times_.over_100ms;
  if (status.ok() || !failures_final_) return status;
  if (failed_.ok()) {
    RecordFailure(status);
    SyncFailed().Set(1);
  }
  return failed_;
}

void LogSyncer::RecordFailure(const absl::Status& status) {
  failed_ =
      absl::Status(status.code(), absl::StrCat("a write-ahead-log sync failed (", status.message(),
                                               "); nothing is acknowledged until the server is "
                                               "restarted"));
  log::Error(failed_.message());
}

bool LogSyncer::Busy() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size() >= max_waiting_;
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

LogSyncer::SyncTimes LogSyncer::sync_times() const {
  absl::MutexLock lock(&mu_);
  return times_;
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
    const absl::Status status = SyncOnce(batch.size());
    for (auto& done : batch) done(status);
  }
}

}  // namespace sotto::server
