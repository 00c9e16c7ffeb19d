#include "server/rpc/blocking_pool.h"

#include <algorithm>
#include <system_error>
#include <utility>

namespace sotto::server::rpc {

BlockingPool::BlockingPool(size_t max_threads, size_t max_queued, absl::Duration idle_timeout)
    : max_threads_(std::max<size_t>(max_threads, 1)),
      max_queued_(std::max<size_t>(max_queued, 1)),
      idle_timeout_(idle_timeout) {}

BlockingPool::~BlockingPool() { Stop(); }

bool BlockingPool::TrySubmit(std::function<void()> task) {
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    // Each idle worker takes one queued task; start another worker when the
    // queue outnumbers them. The new thread blocks on mu_ until it is in
    // live_.
    if (queue_.size() > idle_ && live_.size() < max_threads_) {
      try {
        std::thread t([this] { Work(); });
        const std::thread::id id = t.get_id();
        live_.emplace(id, std::move(t));
      } catch (const std::system_error&) {
        // No thread to be had (a process limit): existing workers take it,
        // or, with none, refuse it rather than strand it.
        if (live_.empty()) {
          queue_.pop_back();
          return false;
        }
        work_.Signal();
      }
    } else {
      work_.Signal();
    }
    exited.swap(exited_);
  }
  Join(std::move(exited));
  return true;
}

void BlockingPool::Stop() {
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
    // Workers drain the queue before exiting.
    while (!live_.empty()) emptied_.Wait(&mu_);
    exited.swap(exited_);
  }
  Join(std::move(exited));
}

size_t BlockingPool::threads() const {
  absl::MutexLock lock(&mu_);
  return live_.size();
}

void BlockingPool::Join(std::vector<std::thread> exited) {
  for (std::thread& t : exited) t.join();
}

void BlockingPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      bool timed_out = false;
      while (queue_.empty() && !stopping_ && !timed_out) {
        ++idle_;
        timed_out = work_.WaitWithTimeout(&mu_, idle_timeout_);
        --idle_;
      }
      // Drain before exiting: a queued task owns a call that needs Finish.
      if (queue_.empty()) {
        auto self = live_.find(std::this_thread::get_id());
        exited_.push_back(std::move(self->second));
        live_.erase(self);
        if (live_.empty()) emptied_.SignalAll();
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace sotto::server::rpc
