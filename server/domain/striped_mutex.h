#ifndef SOTTO_SERVER_DOMAIN_STRIPED_MUTEX_H_
#define SOTTO_SERVER_DOMAIN_STRIPED_MUTEX_H_

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sotto::server {

// A fixed set of mutexes chosen by key hash: serialises read-modify-write of
// one record (a device's queue meta, a handle) without a mutex per record.
class StripedMutex {
 public:
  static constexpr size_t kStripes = 128;

  StripedMutex() = default;
  StripedMutex(const StripedMutex&) = delete;
  StripedMutex& operator=(const StripedMutex&) = delete;

  size_t StripeOf(absl::string_view key) const {
    return absl::Hash<absl::string_view>()(key) % kStripes;
  }
  absl::Mutex& stripe(size_t i) { return mutexes_[i]; }

 private:
  std::array<absl::Mutex, kStripes> mutexes_;
};

// Holds the stripes of every key given, locked in ascending stripe order so
// that two holders never deadlock. Unlocks on destruction. The set of
// stripes is known only at run time, which clang's thread-safety analysis
// cannot name: the two functions that lock and unlock are exempt, and no
// data is ABSL_GUARDED_BY a stripe.
class StripedLock {
 public:
  StripedLock(StripedMutex& mu, const std::vector<std::string>& keys) ABSL_NO_THREAD_SAFETY_ANALYSIS
      : mu_(mu) {
    for (const std::string& k : keys) stripes_.push_back(mu.StripeOf(k));
    std::sort(stripes_.begin(), stripes_.end());
    stripes_.erase(std::unique(stripes_.begin(), stripes_.end()), stripes_.end());
    for (size_t s : stripes_) mu_.stripe(s).Lock();
  }
  ~StripedLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) {
      mu_.stripe(*it).Unlock();
    }
  }
  StripedLock(const StripedLock&) = delete;
  StripedLock& operator=(const StripedLock&) = delete;

 private:
  StripedMutex& mu_;
  std::vector<size_t> stripes_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_STRIPED_MUTEX_H_
