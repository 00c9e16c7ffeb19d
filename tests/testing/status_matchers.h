#ifndef SOTTO_TESTS_TESTING_STATUS_MATCHERS_H_
#define SOTTO_TESTS_TESTING_STATUS_MATCHERS_H_

// Debian's Abseil has no status matchers; these are our one copy.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace sotto::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// EXPECT_THAT(DoIt(), IsOk());
MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::sotto::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

// EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kNotFound));
// EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("bob")));
MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::sotto::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}
MATCHER_P2(StatusIs, code, message_matcher, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::sotto::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

// EXPECT_THAT(store.Get(key), IsOkAndHolds(std::string("value")));
// A StatusOr is no optional to gmock, so its value needs this matcher.
MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

}  // namespace sotto::testing

// ASSERT_OK_AND_ASSIGN(auto v, MakeIt());
#define SOTTO_TESTING_CONCAT_INNER_(a, b) a##b
#define SOTTO_TESTING_CONCAT_(a, b) SOTTO_TESTING_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(SOTTO_TESTING_CONCAT_(statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, rexpr)        \
  auto tmp = (rexpr);                                      \
  ASSERT_TRUE(tmp.ok()) << #rexpr << ": " << tmp.status(); \
  lhs = std::move(tmp).value()
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::sotto::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::sotto::testing::IsOk())

#endif  // SOTTO_TESTS_TESTING_STATUS_MATCHERS_H_
