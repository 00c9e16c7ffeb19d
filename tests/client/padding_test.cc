#include "client-lib/content/padding.h"

#include <cmath>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::content {
namespace {

using ::sotto::testing::StatusIs;

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 256);
  return s;
}

TEST(PaddingTest, RoundTripsAtManyLengthsIncludingTrailingZerosAndMarkers) {
  for (size_t n = 0; n < 5000; n += (n < 600 ? 1 : 37)) {
    std::string plain = Bytes(n);
    if (n > 0) plain.back() = (n % 2) ? '\0' : static_cast<char>(0x80);
    const std::string padded = Pad(plain);
    ASSERT_EQ(padded.size(), PaddedSize(n)) << n;
    ASSERT_OK_AND_ASSIGN(std::string back, Unpad(padded));
    ASSERT_EQ(back, plain) << n;
  }
}

TEST(PaddingTest, SmallMessagesAllPadToTheMinimum) {
  EXPECT_EQ(Pad("").size(), kMinPaddedSize);
  EXPECT_EQ(Pad("hi").size(), kMinPaddedSize);
  EXPECT_EQ(PaddedSize(159), 160u);  // 159 bytes + marker fit exactly
  EXPECT_GT(PaddedSize(160), 160u);
}

TEST(PaddingTest, BucketSizesMatchTheDocumentedPadmeFormula) {
  // Documented examples, by n = plaintext + marker.
  EXPECT_EQ(PaddedSize(160), 176u);    // n = 161
  EXPECT_EQ(PaddedSize(175), 176u);    // n = 176
  EXPECT_EQ(PaddedSize(176), 192u);    // n = 177
  EXPECT_EQ(PaddedSize(999), 1024u);   // n = 1000
  EXPECT_EQ(PaddedSize(4096), 4352u);  // n = 4097
  EXPECT_EQ(PaddedSize(1023), 1024u);  // n = 1024: powers of two stay
  EXPECT_EQ(PaddedSize(65535), 65536u);
}

TEST(PaddingTest, OverheadStaysUnderTwelveAndAHalfPercent) {
  for (size_t n = 161; n < 300'000; ++n) {
    const size_t padded = PaddedSize(n - 1);
    ASSERT_GE(padded, n);
    ASSERT_LT(static_cast<double>(padded - n) / n, n >= 256 ? 0.0625 : 0.125) << n;
  }
}

TEST(PaddingTest, FewDistinctBucketsLeakLittle) {
  // All lengths up to 64 KiB fall into a few hundred buckets.
  std::set<size_t> buckets;
  for (size_t n = 0; n < 65536; ++n) buckets.insert(PaddedSize(n));
  EXPECT_LT(buckets.size(), 400u);
}

TEST(PaddingTest, MissingMarkerIsRejected) {
  EXPECT_THAT(Unpad(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Unpad(std::string(160, '\0')), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Unpad("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Unpad(std::string("abc\x7f\0\0", 6)), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PaddingTest, UnpadStripsFromTheLastMarker) {
  ASSERT_OK_AND_ASSIGN(std::string back, Unpad(std::string("a\x80"
                                                           "b\x80\0\0",
                                                           6)));
  EXPECT_EQ(back,
            "a\x80"
            "b");
}

}  // namespace
}  // namespace sotto::client::content
