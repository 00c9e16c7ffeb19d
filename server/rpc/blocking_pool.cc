#include "server/rpc/blocking_pool.h"

#include <algorithm>
#include <utility>

namespace sotto::server::rpc {

BlockingPool::BlockingPool(size_t threads, size_t max_queued)
    : max_queued_(std::max<size_t>(max_queued, 1)) {
  absl::MutexLock lock(&stop_mu_);
  threads = std::max<size_t>(threads, 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

BlockingPool::~BlockingPool() { Stop(); }

bool BlockingPool::TrySubmit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(task));
  return true;
}

void BlockingPool::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool BlockingPool::Ready() const { return stopping_ || !queue_.empty(); }

void BlockingPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &BlockingPool::Ready));
      // Drain before exiting: a queued task owns a call that needs Finish.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace sotto::server::rpc
