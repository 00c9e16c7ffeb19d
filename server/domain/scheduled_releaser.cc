#include "server/domain/scheduled_releaser.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "server/domain/limits.h"

namespace sotto::server {

ScheduledReleaser::ScheduledReleaser(Mailbox* mailbox, Clock* clock,
                                     std::function<void(const absl::Status&)> on_error)
    : mailbox_(mailbox), clock_(clock), on_error_(std::move(on_error)) {}

ScheduledReleaser::~ScheduledReleaser() { Stop(); }

void ScheduledReleaser::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ScheduledReleaser::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void ScheduledReleaser::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ScheduledReleaser::Run() {
  while (true) {
    int64_t sleep_ms = kReleaserMaxSleepMs;
    // A follower looks again within kReleaserMaxSleepMs, so it takes over
    // that soon after it is elected.
    absl::StatusOr<std::optional<int64_t>> next =
        (!leading_ || leading_()) ? mailbox_->ReleaseDue() : std::optional<int64_t>();
    if (!next.ok()) {
      // Nobody to return the error to: count it, pass it on, retry on the
      // next turn.
      failed_releases_.fetch_add(1, std::memory_order_relaxed);
      if (on_error_) on_error_(next.status());
    } else if (*next) {
      sleep_ms = std::clamp<int64_t>(**next - clock_->NowMillis(), 0, kReleaserMaxSleepMs);
    }
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || woken_; };
    mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(sleep_ms));
    if (stop_) return;
    woken_ = false;
  }
}

}  // namespace sotto::server
