#include "server/domain/attempt_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sotto/metrics.h"

namespace sotto::server {

AttemptLimiter::AttemptLimiter(Clock* clock, int max_failures, int64_t window_ms,
                               int max_over_budget)
    : clock_(clock),
      max_failures_(static_cast<size_t>(std::max(1, max_failures))),
      window_ms_(window_ms),
      max_over_budget_(static_cast<size_t>(std::max(0, max_over_budget))) {}

void AttemptLimiter::Prune(std::deque<int64_t>& failures, int64_t now) {
  while (!failures.empty() && failures.front() + window_ms_ <= now) failures.pop_front();
}

absl::Status AttemptLimiter::Check(const std::vector<std::string>& keys) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  int64_t retry_at = 0;
  for (const std::string& key : keys) {
    auto it = failures_.find(key);
    if (it == failures_.end()) continue;
    Prune(it->second, now);
    if (it->second.size() >= max_failures_) {
      retry_at = std::max(retry_at, it->second.front() + window_ms_);
    }
  }
  if (retry_at == 0) return absl::OkStatus();
  const int64_t seconds = std::max<int64_t>(1, (retry_at - now + 999) / 1000);
  metrics::CountRefusal("code_attempts");
  return absl::ResourceExhaustedError(
      absl::StrCat("too many wrong codes; retry after ", seconds, " s"));
}

absl::StatusOr<bool> AttemptLimiter::Admit(const std::vector<std::string>& keys) {
  absl::Status within = Check(keys);
  if (within.ok()) return false;
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Prune(over_budget_failures_, now);
  if (over_budget_failures_.size() < max_over_budget_) return true;
  return within;
}

void AttemptLimiter::RecordFailure(const std::vector<std::string>& keys, bool over_budget) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  if (over_budget && max_over_budget_ > 0) {
    Prune(over_budget_failures_, now);
    over_budget_failures_.push_back(now);
    if (over_budget_failures_.size() > max_over_budget_) over_budget_failures_.pop_front();
  }
  for (const std::string& key : keys) {
    auto it = failures_.find(key);
    if (it == failures_.end()) {
      if (failures_.size() >= kMaxKeys) {
        absl::erase_if(failures_, [&](auto& entry) {
          mu_.AssertHeld();  // the lambda runs here, under the lock above
          Prune(entry.second, now);
          return entry.second.empty();
        });
        if (failures_.size() >= kMaxKeys) continue;
      }
      it = failures_.emplace(key, std::deque<int64_t>()).first;
    }
    Prune(it->second, now);
    it->second.push_back(now);
    if (it->second.size() > max_failures_) it->second.pop_front();
  }
}

}  // namespace sotto::server
