#ifndef SOTTO_SERVER_DOMAIN_CLOCK_H_
#define SOTTO_SERVER_DOMAIN_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sotto::server {

// Source of server time (Unix milliseconds). Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() = 0;
};

// Wall-clock time.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance (never destroyed).
  static SystemClock* Get() {
    static SystemClock* clock = new SystemClock();
    return clock;
  }
};

// A clock tests set by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMillis() override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CLOCK_H_
