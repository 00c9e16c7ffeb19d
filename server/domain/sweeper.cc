#include "server/domain/sweeper.h"

#include <iostream>

#include "absl/time/time.h"
#include "server/domain/limits.h"

namespace sotto::server {

Sweeper::Sweeper(Mailbox* mailbox, Enrolment* enrolment, Care* care)
    : mailbox_(mailbox), enrolment_(enrolment), care_(care) {}

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
  if (!first.ok()) return first;
  return counts;
}

void Sweeper::Start() { thread_ = std::thread([this] { Run(); }); }

void Sweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Sweeper::Run() {
  while (true) {
    absl::StatusOr<SweepCounts> swept = SweepOnce();
    if (!swept.ok()) {
      // Nobody to return the error to: report it and retry on the next turn.
      std::cerr << "sotto-server: sweeping expired records failed: "
                << swept.status().message() << "\n";
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(kSweepIntervalMs));
    if (stop_) return;
  }
}

}  // namespace sotto::server
