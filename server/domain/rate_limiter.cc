#include "server/domain/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sotto::server {
namespace {

constexpr char kRetryAfterUrl[] = "type.googleapis.com/sotto.v1.RetryInfo";
constexpr double kMsPerHour = 3600.0 * 1000.0;

}  // namespace

std::optional<int64_t> RetryAfterMs(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterUrl);
  int64_t ms = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return ms;
}

absl::Status RateLimitedError(absl::string_view what, int64_t retry_after_ms) {
  int64_t seconds = (retry_after_ms + 999) / 1000;
  absl::Status s = absl::ResourceExhaustedError(
      absl::StrCat(what, "; retry after ", std::max<int64_t>(seconds, 1), " s"));
  s.SetPayload(kRetryAfterUrl, absl::Cord(absl::StrCat(retry_after_ms)));
  return s;
}

RateLimiter::RateLimiter(Clock* clock, BucketConfig config, std::string what)
    : clock_(clock), config_(config), what_(std::move(what)) {}

RateLimiter::Bucket& RateLimiter::Refill(absl::string_view key, int64_t now) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxKeys) Trim(now);
    it = buckets_.emplace(std::string(key), Bucket{config_.burst, now}).first;
    return it->second;
  }
  Bucket& b = it->second;
  if (now > b.updated_ms) {
    b.tokens =
        std::min(config_.burst, b.tokens + (now - b.updated_ms) * config_.per_hour / kMsPerHour);
    b.updated_ms = now;
  }
  return b;
}

absl::Status RateLimiter::Refused(const Bucket& b) const {
  double missing = 1.0 - b.tokens;
  auto wait = static_cast<int64_t>(std::ceil(missing * kMsPerHour / config_.per_hour));
  return RateLimitedError(what_, std::max<int64_t>(wait, 1));
}

void RateLimiter::Trim(int64_t now) {
  std::vector<std::string> drop;
  for (auto& [key, b] : buckets_) {
    double tokens = b.tokens + (now - b.updated_ms) * config_.per_hour / kMsPerHour;
    if (tokens >= config_.burst) drop.push_back(key);
  }
  if (drop.empty()) {
    // Nothing is full: forget half. Forgetting a bucket refills it, so this
    // errs toward letting callers through.
    size_t n = 0;
    for (auto& [key, b] : buckets_) {
      if (n++ % 2 == 0) drop.push_back(key);
    }
  }
  for (const std::string& k : drop) buckets_.erase(k);
}

absl::Status RateLimiter::Take(absl::string_view key, uint64_t* refusals) {
  if (refusals != nullptr) *refusals = 0;
  if (config_.per_hour <= 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  Bucket& b = Refill(key, clock_->NowMillis());
  if (b.tokens < 1.0) {
    ++b.refused;
    if (refusals != nullptr) *refusals = b.refused;
    return Refused(b);
  }
  b.tokens -= 1.0;
  b.refused = 0;
  return absl::OkStatus();
}

absl::Status RateLimiter::Check(absl::string_view key, uint64_t* refusals) {
  if (refusals != nullptr) *refusals = 0;
  if (config_.per_hour <= 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  Bucket& b = Refill(key, clock_->NowMillis());
  if (b.tokens < 1.0) {
    if (refusals != nullptr) *refusals = ++b.refused;
    return Refused(b);
  }
  return absl::OkStatus();
}

void RateLimiter::TakeIfAny(absl::string_view key) {
  if (config_.per_hour <= 0) return;
  absl::MutexLock lock(&mu_);
  Bucket& b = Refill(key, clock_->NowMillis());
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    b.refused = 0;
  }
}

}  // namespace sotto::server
