#include "bench/subscriber.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::bench {

using Clock = std::chrono::steady_clock;

Subscriber::Subscriber(sotto::v1::Messages::Stub* stub, const Device& device,
                       OnEnvelope on_envelope)
    : on_envelope_(std::move(on_envelope)) {
  context_.AddMetadata("authorization", device.authorization);
  stub->async()->Subscribe(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void Subscriber::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows.
  if (event_.has_envelope()) {
    if (on_envelope_) on_envelope_(event_.envelope());
  } else if (event_.drained()) {
    std::lock_guard<std::mutex> lock(mu_);
    drained_ = true;
    cv_.notify_all();
  }
  StartRead(&event_);
}

void Subscriber::OnDone(const grpc::Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = s;
  done_ = true;
  cv_.notify_all();
}

bool Subscriber::AwaitDrained(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, until, [&] { return drained_ || done_; });
  return drained_ && !done_;
}

bool Subscriber::AwaitDone(Clock::time_point until, grpc::Status* status) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, until, [&] { return done_; });
  *status = status_;
  return done_;
}

bool Subscriber::done() {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void CloseAll(ScenarioResult& r, std::vector<std::unique_ptr<Subscriber>>& subs) {
  for (auto& s : subs) s->Cancel();
  const auto until = Clock::now() + std::chrono::seconds(10);
  size_t stuck = 0;
  for (auto& s : subs) {
    grpc::Status st;
    if (!s->AwaitDone(until, &st)) {
      ++stuck;
      (void)s.release();
    }
  }
  subs.clear();
  if (stuck > 0) r.failures.push_back(absl::StrCat(stuck, " streams did not end after cancel"));
}

}  // namespace sotto::bench
