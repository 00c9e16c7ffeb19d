#include "server/storage/error_log.h"

#include <atomic>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sotto/log.h"

namespace sotto::server {

void LogStorageError(absl::string_view what, absl::string_view detail) {
  static std::atomic<int64_t> last_logged_ms{0};
  static std::atomic<uint64_t> unlogged{0};
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  int64_t last = last_logged_ms.load(std::memory_order_relaxed);
  if (now_ms - last >= 1000 && last_logged_ms.compare_exchange_strong(last, now_ms)) {
    const uint64_t skipped = unlogged.exchange(0);
    log::Error(
        absl::StrCat("storage error: ", what, ": ", detail,
                     skipped > 0 ? absl::StrCat(" (and ", skipped, " more since the last)") : ""));
  } else {
    unlogged.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace sotto::server
