#include "server/domain/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/record_codec.h"
#include "server/storage/key_codec.h"
#include "sotto/log.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr char kRetryAfterUrl[] = "type.googleapis.com/sotto.v1.RetryInfo";
constexpr double kMsPerHour = 3600.0 * 1000.0;
constexpr size_t kLimitSweepBatch = 1000;

// A bucket row's value: tokens (the double's bits), when last refilled,
// refusals since the last success.
std::string EncodeBucket(double tokens, int64_t updated_ms, uint64_t refused) {
  uint64_t bits = 0;
  static_assert(sizeof(bits) == sizeof(tokens));
  std::memcpy(&bits, &tokens, sizeof(bits));
  return RecordWriter().U64(bits).I64(updated_ms).U64(refused).Finish();
}

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

RateLimiter::RateLimiter(Clock* clock, BucketConfig config, std::string what,
                         SharedLimitStore shared, std::string name)
    : clock_(clock),
      config_(config),
      what_(std::move(what)),
      shared_(shared.store),
      rows_(shared),
      name_(std::move(name)) {}

void RateLimiter::RefillTo(Bucket& b, int64_t now) const {
  if (now > b.updated_ms) {
    b.tokens =
        std::min(config_.burst, b.tokens + (now - b.updated_ms) * config_.per_hour / kMsPerHour);
    b.updated_ms = now;
  }
}

RateLimiter::Bucket& RateLimiter::Refill(absl::string_view key, int64_t now) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxKeys) Trim(now);
    it = buckets_.emplace(std::string(key), Bucket{config_.burst, now}).first;
    return it->second;
  }
  Bucket& b = it->second;
  RefillTo(b, now);
  return b;
}

absl::Status RateLimiter::Step(Bucket& b, Op op, uint64_t* refusals, bool* emptied) const {
  if (b.tokens < 1.0) {
    if (op == Op::kTakeIfAny) return absl::OkStatus();
    ++b.refused;
    if (refusals != nullptr) *refusals = b.refused;
    return Refused(b);
  }
  if (op == Op::kCheck) return absl::OkStatus();
  b.tokens -= 1.0;
  b.refused = 0;
  if (emptied != nullptr) *emptied = b.tokens < 1.0;
  return absl::OkStatus();
}

std::string RateLimiter::RowPrefix() const {
  std::string row = "B";
  keys::AppendBigEndian32(row, static_cast<uint32_t>(name_.size()));
  row += name_;
  return row;
}

absl::Status RateLimiter::SharedStep(absl::string_view key, Op op, uint64_t* refusals,
                                     bool* emptied) {
  SOTTO_ASSIGN_OR_RETURN(const std::string blinded, rows_.RowKey(key));
  std::string row = RowPrefix();
  keys::AppendBigEndian32(row, static_cast<uint32_t>(blinded.size()));
  row += blinded;
  StripedLock lock(row_locks_, {row});
  return RetryAborted(what_, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> read, shared_->Get(Table::kLimits, row));
    const int64_t now = clock_->NowMillis();
    Bucket b{config_.burst, now, 0};
    if (read) {
      // A row that does not decode counts as a full bucket (it is only a
      // count) and is overwritten.
      RecordReader in(*read);
      const uint64_t bits = in.U64();
      const int64_t updated_ms = in.I64();
      const uint64_t refused = in.U64();
      if (in.ok()) {
        std::memcpy(&b.tokens, &bits, sizeof(bits));
        b.updated_ms = updated_ms;
        b.refused = refused;
      }
      RefillTo(b, now);
    }
    const Bucket before = b;
    absl::Status result = Step(b, op, refusals, emptied);
    if (b.tokens == before.tokens && b.refused == before.refused) return result;
    WriteBatch batch;
    batch.Expect(Table::kLimits, row, read);
    batch.Put(Table::kLimits, row, EncodeBucket(b.tokens, b.updated_ms, b.refused));
    // Buffered: a count lost in a machine crash refills a bucket, as a
    // restart of an in-memory limiter does.
    SOTTO_RETURN_IF_ERROR(shared_->Write(batch, Durability::kBuffered));
    return result;
  });
}

absl::StatusOr<size_t> RateLimiter::SweepFull() {
  if (shared_ == nullptr) return 0;
  const std::string prefix = RowPrefix();
  size_t swept = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           shared_->Scan(Table::kLimits, prefix, after, kLimitSweepBatch));
    const int64_t now = clock_->NowMillis();
    for (const KeyValue& kv : rows) {
      RecordReader in(kv.value);
      const uint64_t bits = in.U64();
      Bucket b;
      b.updated_ms = in.I64();
      std::memcpy(&b.tokens, &bits, sizeof(bits));
      RefillTo(b, now);
      if (in.ok() && b.tokens < config_.burst) continue;
      // Expecting the row as read: a node that took a token meanwhile
      // keeps its bucket (ABORTED: skipped until the next sweep).
      WriteBatch batch;
      batch.Expect(Table::kLimits, kv.key, kv.value);
      batch.Delete(Table::kLimits, kv.key);
      absl::Status s = shared_->Write(batch, Durability::kBuffered);
      if (s.ok()) {
        ++swept;
      } else if (s.code() != absl::StatusCode::kAborted) {
        return s;
      }
    }
    if (rows.size() < kLimitSweepBatch) return swept;
    after = rows.back().key;
  }
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

absl::Status RateLimiter::Take(absl::string_view key, uint64_t* refusals, bool* emptied) {
  if (refusals != nullptr) *refusals = 0;
  if (emptied != nullptr) *emptied = false;
  if (config_.per_hour <= 0) return absl::OkStatus();
  if (shared_ != nullptr) return SharedStep(key, Op::kTake, refusals, emptied);
  absl::MutexLock lock(&mu_);
  return Step(Refill(key, clock_->NowMillis()), Op::kTake, refusals, emptied);
}

absl::Status RateLimiter::Check(absl::string_view key, uint64_t* refusals) {
  if (refusals != nullptr) *refusals = 0;
  if (config_.per_hour <= 0) return absl::OkStatus();
  if (shared_ != nullptr) return SharedStep(key, Op::kCheck, refusals, nullptr);
  absl::MutexLock lock(&mu_);
  return Step(Refill(key, clock_->NowMillis()), Op::kCheck, refusals, nullptr);
}

void RateLimiter::TakeIfAny(absl::string_view key) {
  if (config_.per_hour <= 0) return;
  if (shared_ != nullptr) {
    absl::Status s = SharedStep(key, Op::kTakeIfAny, nullptr, nullptr);
    if (!s.ok()) log::Error(absl::StrCat("cannot count against ", what_, ": ", s.message()));
    return;
  }
  absl::MutexLock lock(&mu_);
  (void)Step(Refill(key, clock_->NowMillis()), Op::kTakeIfAny, nullptr, nullptr);
}

}  // namespace sotto::server
