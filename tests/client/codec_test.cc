#include "client-lib/content/codec.h"

#include <string>

#include "client-lib/content/padding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::content {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::sotto::v1::content::Content;
using ::testing::HasSubstr;

Content Text(std::string body, int64_t sent_at_ms = 1700000000000) {
  Content c;
  c.set_sent_at_ms(sent_at_ms);
  c.mutable_text()->set_body(std::move(body));
  return c;
}

TEST(CodecTest, TextRoundTripsAtManyLengths) {
  for (size_t n = 1; n <= kMaxTextBodyBytes; n += 97) {
    const Content sent = Text(std::string(n, 'x'));
    ASSERT_OK_AND_ASSIGN(std::string plain, ValidateAndEncode(sent));
    EXPECT_EQ(plain.size(), PaddedSize(sent.ByteSizeLong()));
    ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(plain));
    EXPECT_EQ(got.text().body(), sent.text().body());
    EXPECT_EQ(got.sent_at_ms(), sent.sent_at_ms());
  }
}

TEST(CodecTest, ShortTextsLookTheSameSize) {
  EXPECT_EQ(EncodeContent(Text("ok")).size(), EncodeContent(Text("see you thursday")).size());
}

TEST(CodecTest, TextAtTheLimitIsAcceptedOneByteMoreIsNot) {
  EXPECT_THAT(ValidateContent(Text(std::string(kMaxTextBodyBytes, 'a'))), IsOk());
  EXPECT_THAT(ValidateContent(Text(std::string(kMaxTextBodyBytes + 1, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4097")));
  EXPECT_THAT(ValidateAndEncode(Text(std::string(kMaxTextBodyBytes + 1, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CodecTest, OversizedTextIsRejectedOnDecodeToo) {
  EXPECT_THAT(DecodeContent(EncodeContent(Text(std::string(kMaxTextBodyBytes + 1, 'a')))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CodecTest, ContentWithoutBodyOrWithEmptyTextIsNotSendable) {
  Content empty;
  EXPECT_THAT(ValidateContent(empty), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateContent(Text("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ValidateContent(Text("k")), IsOk());
  // Lenient towards others: an empty text still decodes.
  ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(EncodeContent(Text(""))));
  EXPECT_TRUE(got.has_text());
}

TEST(CodecTest, InvalidUtf8IsNotSendable) {
  EXPECT_THAT(ValidateContent(Text("caf\xc3")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateContent(Text("\xed\xa0\x80")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateContent(Text("caf\xc3\xa9 \xf0\x9f\x8c\xbf")), IsOk());
}

TEST(CodecTest, BadPaddingOrGarbageIsInvalidArgument) {
  EXPECT_THAT(DecodeContent(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeContent(std::string(200, '\0')), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeContent(Pad("\xff\xff\xff\xff")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeContent(std::string(kMaxPaddedPlaintextBytes + 1, '\x80')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CodecTest, UnknownBodyKindFromNewerSenderStillDecodes) {
  // Field 99 (length-delimited, "hello") is not known to this client.
  Content c;
  c.set_sent_at_ms(5);
  std::string wire = c.SerializeAsString() + std::string("\x9a\x06\x05hello", 8);
  ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(Pad(wire)));
  EXPECT_EQ(got.body_case(), Content::BODY_NOT_SET);
  EXPECT_EQ(got.sent_at_ms(), 5);
}

}  // namespace
}  // namespace sotto::client::content
