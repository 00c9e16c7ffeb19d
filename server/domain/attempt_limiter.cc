#include "server/domain/attempt_limiter.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "server/storage/key_codec.h"
#include "sotto/log.h"
#include "sotto/metrics.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

// kLimits rows (key_codec.h): 'A' len key time random, one failure of a
// key (blinded: SharedLimitStore::RowKey); 'O' time random, one failure of an over-budget key. The
// random suffix keeps two failures in one millisecond (on two nodes) apart.
constexpr char kFailureRow = 'A';
constexpr char kOverBudgetRow = 'O';
constexpr size_t kSuffixBytes = 16;  // time(be64) random(8)
constexpr size_t kLimitSweepBatch = 1000;

std::string FailurePrefix(absl::string_view key) {
  std::string row(1, kFailureRow);
  keys::AppendBigEndian32(row, static_cast<uint32_t>(key.size()));
  row.append(key.data(), key.size());
  return row;
}

std::string WithSuffix(std::string prefix, int64_t time_ms) {
  thread_local std::mt19937_64 random(std::random_device{}());
  keys::AppendBigEndian64(prefix, static_cast<uint64_t>(time_ms));
  keys::AppendBigEndian64(prefix, random());
  return prefix;
}

// The time of a row WithSuffix made (0 when too short to be one).
int64_t TimeOf(absl::string_view row) {
  if (row.size() < kSuffixBytes + 1) return 0;
  return static_cast<int64_t>(
      keys::ReadBigEndian64(row.substr(row.size() - kSuffixBytes, 8)).value_or(0));
}

// Scans from the first row of `prefix` still in the window ending at
// `now`: one whose time is after now - window.
std::string WindowStart(const std::string& prefix, int64_t now, int64_t window_ms) {
  if (now - window_ms < 0) return "";
  std::string after = prefix;
  keys::AppendBigEndian64(after, static_cast<uint64_t>(now - window_ms));
  after.append(8, '\xff');
  return after;
}

}  // namespace

AttemptLimiter::AttemptLimiter(Clock* clock, int max_failures, int64_t window_ms,
                               int max_over_budget)
    : AttemptLimiter(clock, SharedLimitStore{}, max_failures, window_ms, max_over_budget) {}

AttemptLimiter::AttemptLimiter(Clock* clock, SharedLimitStore shared, int max_failures,
                               int64_t window_ms, int max_over_budget)
    : clock_(clock),
      max_failures_(static_cast<size_t>(std::max(1, max_failures))),
      window_ms_(window_ms),
      max_over_budget_(static_cast<size_t>(std::max(0, max_over_budget))),
      shared_(shared.store),
      rows_(shared) {}

absl::Status AttemptLimiter::TooMany(int64_t retry_at, int64_t now) const {
  const int64_t seconds = std::max<int64_t>(1, (retry_at - now + 999) / 1000);
  metrics::CountRefusal("code_attempts");
  return absl::ResourceExhaustedError(
      absl::StrCat("too many wrong codes; retry after ", seconds, " s"));
}

absl::Status AttemptLimiter::SharedCheck(const std::vector<std::string>& keys, int64_t now) {
  int64_t retry_at = 0;
  for (const std::string& key : keys) {
    SOTTO_ASSIGN_OR_RETURN(const std::string blinded, rows_.RowKey(key));
    const std::string prefix = FailurePrefix(blinded);
    SOTTO_ASSIGN_OR_RETURN(
        std::vector<KeyValue> rows,
        shared_->Scan(Table::kLimits, prefix, WindowStart(prefix, now, window_ms_), max_failures_));
    // The oldest in the window: with more than max_failures_ there (racing
    // nodes), the wait it gives may end early, and the retry is told anew.
    if (rows.size() >= max_failures_) {
      retry_at = std::max(retry_at, TimeOf(rows.front().key) + window_ms_);
    }
  }
  if (retry_at == 0) return absl::OkStatus();
  return TooMany(retry_at, now);
}

absl::StatusOr<bool> AttemptLimiter::SharedAllowanceLeft(int64_t now) {
  const std::string prefix(1, kOverBudgetRow);
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         shared_->Scan(Table::kLimits, prefix, WindowStart(prefix, now, window_ms_),
                                       max_over_budget_));
  return rows.size() < max_over_budget_;
}

void AttemptLimiter::SharedRecord(const std::vector<std::string>& keys, bool over_budget,
                                  int64_t now) {
  WriteBatch batch;
  for (const std::string& key : keys) {
    absl::StatusOr<std::string> blinded = rows_.RowKey(key);
    if (!blinded.ok()) {
      log::Error(absl::StrCat("cannot count a wrong code: ", blinded.status().message()));
      return;
    }
    batch.Put(Table::kLimits, WithSuffix(FailurePrefix(*blinded), now), "1");
  }
  if (over_budget && max_over_budget_ > 0) {
    batch.Put(Table::kLimits, WithSuffix(std::string(1, kOverBudgetRow), now), "1");
  }
  // Buffered: a failure lost in a machine crash is forgotten, as a restart
  // of the in-memory limiter forgets them all.
  absl::Status s = shared_->Write(batch, Durability::kBuffered);
  if (!s.ok()) log::Error(absl::StrCat("cannot count a wrong code: ", s.message()));
}

absl::StatusOr<size_t> AttemptLimiter::SweepExpired() {
  if (shared_ == nullptr) return 0;
  size_t swept = 0;
  for (const char kind : {kFailureRow, kOverBudgetRow}) {
    const std::string prefix(1, kind);
    std::string after;
    while (true) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                             shared_->Scan(Table::kLimits, prefix, after, kLimitSweepBatch));
      const int64_t now = clock_->NowMillis();
      WriteBatch batch;
      for (const KeyValue& kv : rows) {
        // Rows are written once and never expected: deleted unconditionally.
        if (TimeOf(kv.key) + window_ms_ <= now) batch.Delete(Table::kLimits, kv.key);
      }
      swept += batch.ops().size();
      if (!batch.empty()) SOTTO_RETURN_IF_ERROR(shared_->Write(batch, Durability::kBuffered));
      if (rows.size() < kLimitSweepBatch) break;
      after = rows.back().key;
    }
  }
  return swept;
}

void AttemptLimiter::Prune(std::deque<int64_t>& failures, int64_t now) {
  while (!failures.empty() && failures.front() + window_ms_ <= now) failures.pop_front();
}

absl::Status AttemptLimiter::Check(const std::vector<std::string>& keys) {
  const int64_t now = clock_->NowMillis();
  if (shared_ != nullptr) return SharedCheck(keys, now);
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
  return TooMany(retry_at, now);
}

absl::StatusOr<bool> AttemptLimiter::Admit(const std::vector<std::string>& keys) {
  absl::Status within = Check(keys);
  if (within.ok()) return false;
  if (within.code() != absl::StatusCode::kResourceExhausted) return within;
  const int64_t now = clock_->NowMillis();
  if (shared_ != nullptr) {
    SOTTO_ASSIGN_OR_RETURN(bool room, SharedAllowanceLeft(now));
    if (room) return true;
    return within;
  }
  absl::MutexLock lock(&mu_);
  Prune(over_budget_failures_, now);
  if (over_budget_failures_.size() < max_over_budget_) return true;
  return within;
}

void AttemptLimiter::RecordFailure(const std::vector<std::string>& keys, bool over_budget) {
  const int64_t now = clock_->NowMillis();
  if (shared_ != nullptr) return SharedRecord(keys, over_budget, now);
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
