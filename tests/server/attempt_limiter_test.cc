// The code-redemption failure limiter, with a fake clock.

#include "server/domain/attempt_limiter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

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

}  // namespace
}  // namespace sotto::server
