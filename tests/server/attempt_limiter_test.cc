// The code-redemption failure limiter, with a fake clock.

#include "server/domain/attempt_limiter.h"

#include <memory>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/rate_limiter.h"
#include "server/storage/rocksdb_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;

constexpr int64_t kMinute = 60 * 1000;

TEST(AttemptLimiterTest, TenFailuresInTenMinutesBlockUntilTheOldestLeavesTheWindow) {
  FakeClock clock;
  AttemptLimiter limiter(&clock);
  const std::vector<std::string> keys = {"addr ipv4:10.0.0.1", "account sam"};
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_OK(limiter.Check(keys)) << i;
    limiter.RecordFailure(keys);
    clock.Advance(kMinute / 2);
  }
  // 10 failures, the first 5 minutes ago: blocked for 5 more minutes.
  EXPECT_THAT(limiter.Check(keys), StatusIs(absl::StatusCode::kResourceExhausted,
                                            "too many wrong codes; retry after 300 s"));
  clock.Advance(5 * kMinute - 1);
  EXPECT_THAT(limiter.Check(keys), StatusIs(absl::StatusCode::kResourceExhausted,
                                            "too many wrong codes; retry after 1 s"));
  clock.Advance(1);
  EXPECT_OK(limiter.Check(keys));
  // One more failure fills the window again.
  limiter.RecordFailure(keys);
  EXPECT_THAT(limiter.Check(keys), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(AttemptLimiterTest, EachKeyCountsOnItsOwn) {
  FakeClock clock;
  AttemptLimiter limiter(&clock);
  // One address guessing for many accounts is blocked by its address...
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    limiter.RecordFailure({"addr a", "account u" + std::to_string(i)});
  }
  EXPECT_THAT(limiter.Check({"addr a", "account new"}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(limiter.Check({"addr b", "account u1"}));
  // ...and one account guessed at from many addresses by the account.
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    limiter.RecordFailure({"addr x" + std::to_string(i), "account sam"});
  }
  EXPECT_THAT(limiter.Check({"addr fresh", "account sam"}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(limiter.Check({"addr fresh", "account kim"}));
}

TEST(AttemptLimiterTest, FailuresOutsideTheWindowAreForgotten) {
  FakeClock clock;
  AttemptLimiter limiter(&clock);
  for (int i = 0; i < 3 * kMaxCodeFailures; ++i) {
    limiter.RecordFailure({"k"});
    clock.Advance(kCodeFailureWindowMs / (kMaxCodeFailures - 1));
  }
  // Never more than 9 in any 10 minutes at this pace.
  EXPECT_OK(limiter.Check({"k"}));
}

TEST(AttemptLimiterTest, AKeyOverBudgetIsStillAdmittedWhileTheAllowanceLasts) {
  FakeClock clock;
  AttemptLimiter limiter(&clock, /*max_failures=*/2, kCodeFailureWindowMs, /*max_over_budget=*/3);
  const std::vector<std::string> guesser = {"addr nat", "account eve"};
  const std::vector<std::string> neighbour = {"addr nat", "account kim"};
  auto admit = [&](const std::vector<std::string>& keys) {
    absl::StatusOr<bool> over = limiter.Admit(keys);
    return over.ok() ? (*over ? "over budget" : "within") : "refused";
  };
  EXPECT_STREQ(admit(guesser), "within");
  limiter.RecordFailure(guesser);
  limiter.RecordFailure(guesser);
  // The shared address is over budget: both are still checked...
  EXPECT_STREQ(admit(guesser), "over budget");
  EXPECT_STREQ(admit(neighbour), "over budget");
  EXPECT_OK(limiter.Check({"addr elsewhere", "account kim"}));
  // ...until three wrong codes from over-budget keys spend the server-wide
  // allowance; then they are refused unchecked, and a clean key is not.
  for (int i = 0; i < 3; ++i) limiter.RecordFailure(guesser, /*over_budget=*/true);
  EXPECT_STREQ(admit(guesser), "refused");
  EXPECT_STREQ(admit(neighbour), "refused");
  EXPECT_STREQ(admit({"addr elsewhere", "account kim"}), "within");
  EXPECT_THAT(limiter.Admit(guesser).status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                                        "too many wrong codes; retry after 600 s"));
  clock.Advance(kCodeFailureWindowMs);
  EXPECT_STREQ(admit(neighbour), "within");
}

// Several nodes on one database (issue 17): two limiters on one store stand
// for two nodes. What one counts, the other sees.
class SharedLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(store_, OpenRocksDbStore(dir_.path())); }
  SharedLimitStore Shared() { return {store_.get(), &blind_}; }
  size_t Rows() {
    absl::StatusOr<std::vector<KeyValue>> rows = store_->Scan(Table::kLimits, "", "", 1000);
    return rows.ok() ? rows->size() : 0;
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  SecretKey blind_ = *SecretKey::FromBytes(std::string(SecretKey::kBytes, 'k'));
  FakeClock clock_;
};

TEST_F(SharedLimitsTest, WrongCodesCountedByTwoNodesReachTheBudgetTogether) {
  AttemptLimiter a(&clock_, Shared()), b(&clock_, Shared());
  const std::vector<std::string> keys = {"addr ipv4:10.0.0.1", "handle sam"};
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_OK(a.Check(keys)) << i;
    (i % 2 == 0 ? a : b).RecordFailure(keys);
    clock_.Advance(kMinute / 2);
  }
  EXPECT_THAT(a.Check(keys), StatusIs(absl::StatusCode::kResourceExhausted,
                                      "too many wrong codes; retry after 300 s"));
  EXPECT_THAT(b.Check({"addr elsewhere", "handle sam"}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(b.Check({"addr elsewhere", "handle kim"}));
  // Over budget, a check is admitted while the server-wide allowance lasts.
  ASSERT_OK_AND_ASSIGN(bool over, b.Admit(keys));
  EXPECT_TRUE(over);
  // The window passes: allowed again, and the sweep deletes every row.
  clock_.Advance(kCodeFailureWindowMs);
  EXPECT_OK(b.Check(keys));
  EXPECT_EQ(Rows(), 2u * kMaxCodeFailures);
  ASSERT_OK_AND_ASSIGN(size_t swept, a.SweepExpired());
  EXPECT_EQ(swept, 2u * kMaxCodeFailures);
  EXPECT_EQ(Rows(), 0u);
}

// The database holds counts, not who tried what from where: no row names a
// source address or a handle, in its key or its value.
TEST_F(SharedLimitsTest, RowsNameNoAddressAndNoHandle) {
  AttemptLimiter codes(&clock_, Shared());
  RateLimiter auth(&clock_, BucketConfig{3, 60}, "too many failed authentications", Shared(),
                   "failed_auth");
  codes.RecordFailure({"addr ipv4:203.0.113.9", "handle dr-rivera"}, /*over_budget=*/true);
  ASSERT_OK(auth.Take("addr ipv4:203.0.113.9"));
  ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> rows, store_->Scan(Table::kLimits, "", "", 100));
  ASSERT_EQ(rows.size(), 4u);  // two failures, the allowance's, the bucket
  for (const KeyValue& row : rows) {
    for (absl::string_view secret : {"203.0.113.9", "dr-rivera", "rivera"}) {
      EXPECT_FALSE(absl::StrContains(row.key, secret)) << secret;
      EXPECT_FALSE(absl::StrContains(row.value, secret)) << secret;
    }
  }
  // Another key names other rows: still counted apart.
  EXPECT_OK(codes.Check({"addr ipv4:203.0.113.10"}));
}

TEST_F(SharedLimitsTest, TheServerWideAllowanceIsSharedToo) {
  AttemptLimiter a(&clock_, Shared(), 1, kCodeFailureWindowMs, 2);
  AttemptLimiter b(&clock_, Shared(), 1, kCodeFailureWindowMs, 2);
  a.RecordFailure({"addr nat"});
  ASSERT_OK_AND_ASSIGN(bool over, b.Admit({"addr nat"}));
  EXPECT_TRUE(over);
  a.RecordFailure({"addr nat"}, /*over_budget=*/true);
  b.RecordFailure({"addr nat"}, /*over_budget=*/true);
  EXPECT_THAT(a.Admit({"addr nat"}).status(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(SharedLimitsTest, FailedAuthBucketIsOneBucketForTwoNodes) {
  const BucketConfig config{3, 60};  // one token a minute
  RateLimiter a(&clock_, config, "too many failed authentications", Shared(), "failed_auth");
  RateLimiter b(&clock_, config, "too many failed authentications", Shared(), "failed_auth");
  bool emptied = true;
  ASSERT_OK(a.Take("addr x", nullptr, &emptied));
  EXPECT_FALSE(emptied);
  ASSERT_OK(b.Take("addr x"));
  ASSERT_OK(a.Take("addr x", nullptr, &emptied));
  EXPECT_TRUE(emptied);
  uint64_t refusals = 0;
  EXPECT_THAT(b.Take("addr x", &refusals),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "too many failed authentications; retry after 60 s"));
  EXPECT_EQ(refusals, 1u);
  EXPECT_THAT(a.Check("addr x", &refusals), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(refusals, 2u);
  EXPECT_OK(b.Take("addr other"));
  // A minute regains a token; a full bucket's row is swept, a used one kept.
  clock_.Advance(kMinute);
  ASSERT_OK(b.Take("addr x"));
  clock_.Advance(2 * kMinute);
  ASSERT_OK_AND_ASSIGN(size_t swept, a.SweepFull());
  EXPECT_EQ(swept, 1u);  // "addr other" refilled; "addr x" still lacks one
  EXPECT_EQ(Rows(), 1u);
}

}  // namespace
}  // namespace sotto::server
