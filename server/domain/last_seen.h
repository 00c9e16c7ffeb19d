#ifndef SOTTO_SERVER_DOMAIN_LAST_SEEN_H_
#define SOTTO_SERVER_DOMAIN_LAST_SEEN_H_

// When each account last made an authenticated call, to the hour, for the
// operator's `sotto-server users` ("is this person's app still reaching
// us?"). Kept in memory only and coarse on purpose: the server records no
// history of when anyone is online, a restart forgets it all, and an hour
// is enough to tell "today" from "last month" (docs/SECURITY.md §8).
// Thread-safe; one lookup per authenticated call, a write only when the
// hour changes.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sotto::server {

class LastSeen {
 public:
  static constexpr int64_t kHourMs = 3600 * 1000;

  // Notes that `handle` made an authenticated call at `now_ms`.
  void Saw(absl::string_view handle, int64_t now_ms) {
    const int64_t hour = now_ms - now_ms % kHourMs;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = hours_.find(handle);
      if (it != hours_.end() && it->second >= hour) return;
    }
    absl::MutexLock lock(&mu_);
    int64_t& stored = hours_[handle];
    if (stored < hour) stored = hour;
  }

  // The start (Unix ms, UTC) of the hour of `handle`'s last authenticated
  // call since the server started; nullopt if none.
  std::optional<int64_t> HourOf(absl::string_view handle) const {
    absl::ReaderMutexLock lock(&mu_);
    auto it = hours_.find(handle);
    if (it == hours_.end()) return std::nullopt;
    return it->second;
  }

  // The same per device, for Devices.List (only ever shown to the account
  // itself). Saw() is called for the account, SawDevice() for the device.
  void SawDevice(absl::string_view handle, uint32_t device_id, int64_t now_ms) {
    Saw(DeviceKey(handle, device_id), now_ms);
  }
  std::optional<int64_t> DeviceHourOf(absl::string_view handle, uint32_t device_id) const {
    return HourOf(DeviceKey(handle, device_id));
  }
  // Forgets a removed device.
  void ForgetDevice(absl::string_view handle, uint32_t device_id) {
    absl::MutexLock lock(&mu_);
    hours_.erase(DeviceKey(handle, device_id));
  }

  // Forgets `handle` (its account was deleted: the next owner of the handle
  // starts unseen), its devices with it.
  void Forget(absl::string_view handle) {
    absl::MutexLock lock(&mu_);
    hours_.erase(handle);
    // Every device id, however high: ids are never reused, so they grow.
    const std::string prefix = DeviceKey(handle, 0).substr(0, handle.size() + 1);
    for (auto it = hours_.begin(); it != hours_.end();) {
      if (absl::StartsWith(it->first, prefix)) {
        hours_.erase(it++);
      } else {
        ++it;
      }
    }
  }

 private:
  // A handle never contains '\0', so this never equals a handle.
  static std::string DeviceKey(absl::string_view handle, uint32_t device_id) {
    std::string key(handle);
    key.push_back('\0');
    key += std::to_string(device_id);
    return key;
  }

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> hours_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_LAST_SEEN_H_
