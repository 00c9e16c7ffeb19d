#include "server/domain/sweeper.h"

#include <utility>

#include "absl/time/time.h"
#include "server/domain/limits.h"

namespace sotto::server {

Sweeper::Sweeper(Mailbox* mailbox, Enrolment* enrolment, Care* care,
                 std::function<void(const absl::Status&)> on_error)
    : mailbox_(mailbox), enrolment_(enrolment), care_(care), on_error_(std::move(on_error)) {}

Sweeper::~Sweeper() { Stop(); }

absl::StatusOr<SweepCounts> Sweeper::SweepOnce() {
  SweepCounts counts;
  absl::Status first;
  auto take = [&first](absl::StatusOr<size_t> r, size_t& out) {
    if (r.ok()) {
      out = *r;
    } else if (first.ok()) {
      first = r.status();
    }
  };
  take(mailbox_->SweepIdempotency(), counts.idempotency);
  take(enrolment_->SweepExpired(), counts.enrolments);
  take(care_->SweepExpiredInvites(), counts.invites);
  take(mailbox_->SweepExpiredEnvelopes(), counts.envelopes);
  for (const std::function<absl::Status()>& sweep : extra_) {
    absl::Status s = sweep();
    if (!s.ok() && first.ok()) first = s;
  }
  if (!first.ok()) return first;
  return counts;
}

void Sweeper::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Sweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Sweeper::Run() {
  while (true) {
    absl::StatusOr<SweepCounts> swept =
        (!leading_ || leading_()) ? SweepOnce() : absl::StatusOr<SweepCounts>(SweepCounts{});
    if (!swept.ok()) {
      // Nobody to return the error to: count it, pass it on, retry on the
      // next turn.
      failed_sweeps_.fetch_add(1, std::memory_order_relaxed);
      if (on_error_) on_error_(swept.status());
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &Sweeper::StoppedOrWoken),
                         absl::Milliseconds(kSweepIntervalMs));
    if (stop_) return;
    woken_ = false;
  }
}

void Sweeper::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

}  // namespace sotto::server
