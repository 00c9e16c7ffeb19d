#ifndef SOTTO_SERVER_DOMAIN_SWEEPER_H_
#define SOTTO_SERVER_DOMAIN_SWEEPER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/care.h"
#include "server/domain/enrolment.h"
#include "server/domain/mailbox.h"

namespace sotto::server {

struct SweepCounts {
  size_t idempotency = 0;  // idempotency records past kIdempotencyRetentionMs
  size_t enrolments = 0;   // expired unused enrolment codes
  size_t invites = 0;      // expired unused invite codes
  size_t envelopes = 0;    // undelivered envelopes past the retention
};

// Deletes what the server no longer needs to keep: expired idempotency
// records (so the table is not a permanent who-wrote-when log) and expired
// unused enrolment and invite codes. A background thread sweeps once at Start
// and then every kSweepIntervalMs of real time; expiry is judged on the
// services' clock. Does not own its arguments, which must outlive it.
class Sweeper {
 public:
  // The background thread has nobody to return an error to: it counts it
  // (failed_sweeps) and hands it to `on_error` (if set; e.g. the server's
  // log), then retries on its next turn.
  Sweeper(Mailbox* mailbox, Enrolment* enrolment, Care* care,
          std::function<void(const absl::Status&)> on_error = nullptr);
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;
  // Stops the thread if running.
  ~Sweeper();

  // One sweep now, on the calling thread. Thread-safe. Errors: the first
  // storage or DATA_LOSS error; the other sweeps still run.
  absl::StatusOr<SweepCounts> SweepOnce();

  // Several nodes on one database (issue 17): the thread works only while
  // `leading` says this node leads (PostgresLeader::held), asking before
  // each turn, so one node alone runs it. Unset: always. Call before Start.
  // A node elected later sweeps when woken (Wake), else at its next turn
  // (kSweepIntervalMs).
  void SetLeaderCheck(std::function<bool()> leading) { leading_ = std::move(leading); }

  // Starts the next turn now: a node just elected sweeps what expired while
  // nobody led (the start-up sweep it skipped while not yet leading).
  // Thread-safe.
  void Wake();

  // Runs `sweep` too at every turn, after the sweeps above (what other
  // parts keep in the store: link slots, history archives). Call before
  // Start.
  void AddSweep(std::function<absl::Status()> sweep) { extra_.push_back(std::move(sweep)); }

  // Starts the thread. Call once.
  void Start();
  // Stops and joins the thread; a sweep in progress completes first.
  // Idempotent.
  void Stop();

  // Background sweeps that failed so far.
  uint64_t failed_sweeps() const { return failed_sweeps_.load(std::memory_order_relaxed); }

 private:
  void Run();
  bool StoppedOrWoken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || woken_; }

  Mailbox* const mailbox_;
  Enrolment* const enrolment_;
  Care* const care_;
  const std::function<void(const absl::Status&)> on_error_;
  std::function<bool()> leading_;
  std::vector<std::function<absl::Status()>> extra_;
  std::atomic<uint64_t> failed_sweeps_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_SWEEPER_H_
