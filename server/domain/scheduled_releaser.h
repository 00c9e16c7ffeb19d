#ifndef SOTTO_SERVER_DOMAIN_SCHEDULED_RELEASER_H_
#define SOTTO_SERVER_DOMAIN_SCHEDULED_RELEASER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/mailbox.h"

namespace sotto::server {

// A background thread that releases send-later messages (Mailbox::ReleaseDue):
// once at start (messages that fell due while the server was down), then at
// the earliest due time, whenever a new message is scheduled (Wake), and at
// least every kReleaserMaxSleepMs of real time (so a FakeClock moved by a
// test is noticed). Sleeps are in real time; due times are on `clock`.
// Does not own `mailbox` or `clock`.
class ScheduledReleaser {
 public:
  // The background thread has nobody to return an error to: it counts it
  // (failed_releases) and hands it to `on_error` (if set; e.g. the server's
  // log), then retries on its next turn.
  ScheduledReleaser(Mailbox* mailbox, Clock* clock,
                    std::function<void(const absl::Status&)> on_error = nullptr);
  ScheduledReleaser(const ScheduledReleaser&) = delete;
  ScheduledReleaser& operator=(const ScheduledReleaser&) = delete;
  // Stops the thread if running.
  ~ScheduledReleaser();

  // Several nodes on one database (issue 17): the thread works only while
  // `leading` says this node leads (PostgresLeader::held), asking before
  // each turn, so one node alone runs it. Unset: always. Call before Start.
  void SetLeaderCheck(std::function<bool()> leading) { leading_ = std::move(leading); }

  // Starts the thread. Call once.
  void Start();
  // Makes the thread look for due messages now. Thread-safe, non-blocking.
  void Wake();
  // Stops and joins the thread; a release in progress completes first.
  // Idempotent.
  void Stop();

  // Release rounds that failed so far.
  uint64_t failed_releases() const { return failed_releases_.load(std::memory_order_relaxed); }

 private:
  void Run();

  Mailbox* const mailbox_;
  Clock* const clock_;
  const std::function<void(const absl::Status&)> on_error_;
  std::function<bool()> leading_;
  std::atomic<uint64_t> failed_releases_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_SCHEDULED_RELEASER_H_
