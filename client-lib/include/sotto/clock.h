#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLOCK_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLOCK_H_

/// @file
/// The time a Client lives by: when a message was written, whether a
/// send-later time is still ahead, when the profile locks itself for
/// inactivity, when the signed prekey is due for rotation. An app passes its
/// own only to test those (RegisterOptions::clock / OpenOptions::clock); by
/// default it is the system's clock.

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sotto/export.h"

namespace sotto {

/// Thread-safe: a Client reads it from any of its callers' threads and from
/// Listen's watchdog.
class SOTTO_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  /// The current time.
  virtual absl::Time Now() const = 0;
};

/// absl::Now().
class SOTTO_EXPORT SystemClock final : public Clock {
 public:
  /// The system's time.
  absl::Time Now() const override { return absl::Now(); }
};

/// A clock that moves only when told to, for tests.
class SOTTO_EXPORT ManualClock final : public Clock {
 public:
  /// Starts at `start`.
  explicit ManualClock(absl::Time start = absl::Now()) : now_(start) {}
  /// The time last set or advanced to.
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  /// Moves the clock forward by `by`.
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }
  /// Sets the clock to `now`.
  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLOCK_H_
