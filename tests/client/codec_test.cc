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

Content Letter(std::string subject, std::string body, std::string in_reply_to = "",
               std::string thread_id = "") {
  Content c;
  c.set_sent_at_ms(1700000000000);
  auto* letter = c.mutable_letter();
  letter->set_subject(std::move(subject));
  letter->set_body(std::move(body));
  letter->set_in_reply_to(std::move(in_reply_to));
  letter->set_thread_id(std::move(thread_id));
  return c;
}

Content ReceiptFor(v1::content::Receipt::Type type, size_t ids) {
  Content c;
  c.mutable_receipt()->set_type(type);
  for (size_t i = 0; i < ids; ++i) {
    std::string id(kMessageIdBytes, '\0');
    id[0] = static_cast<char>(i & 0xff);
    id[1] = static_cast<char>(i >> 8);
    c.mutable_receipt()->add_message_ids(id);
  }
  return c;
}

TEST(CodecTest, LetterRoundTripsWithItsThread) {
  const std::string id(kMessageIdBytes, '\x11');
  const std::string thread(kMessageIdBytes, '\x22');
  const Content sent = Letter("Since Tuesday", std::string(40 * 1024, 'w'), id, thread);
  ASSERT_OK_AND_ASSIGN(std::string plain, ValidateAndEncode(sent));
  ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(plain));
  ASSERT_TRUE(got.has_letter());
  EXPECT_EQ(got.letter().subject(), "Since Tuesday");
  EXPECT_EQ(got.letter().body(), sent.letter().body());
  EXPECT_EQ(got.letter().in_reply_to(), id);
  EXPECT_EQ(got.letter().thread_id(), thread);
}

TEST(CodecTest, LetterLimitsAreSubject200AndBody48KiB) {
  EXPECT_THAT(ValidateContent(Letter(std::string(kMaxLetterSubjectBytes, 's'),
                                     std::string(kMaxLetterBodyBytes, 'b'))),
              IsOk());
  EXPECT_THAT(ValidateContent(Letter(std::string(kMaxLetterSubjectBytes + 1, 's'), "b")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("letter subject")));
  EXPECT_THAT(ValidateContent(Letter("s", std::string(kMaxLetterBodyBytes + 1, 'b'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("letter body")));
  EXPECT_THAT(DecodeContent(EncodeContent(Letter("s", std::string(kMaxLetterBodyBytes + 1, 'b')))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CodecTest, LetterNeedsSubjectAndBodyAndWellFormedIds) {
  EXPECT_THAT(ValidateContent(Letter("", "body")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subject is empty")));
  EXPECT_THAT(ValidateContent(Letter("subject", "")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("body is empty")));
  EXPECT_THAT(ValidateContent(Letter("s", "b", "short")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in_reply_to")));
  EXPECT_THAT(ValidateContent(Letter("s", "b", "", std::string(17, 'x'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("thread_id")));
  EXPECT_THAT(ValidateContent(Letter("caf\xc3", "b")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-8")));
}

TEST(CodecTest, ReceiptOfUpTo1000IdsRoundTrips) {
  const Content sent = ReceiptFor(v1::content::Receipt::READ, kMaxReceiptIds);
  ASSERT_OK_AND_ASSIGN(std::string plain, ValidateAndEncode(sent));
  ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(plain));
  ASSERT_TRUE(got.has_receipt());
  EXPECT_EQ(got.receipt().type(), v1::content::Receipt::READ);
  ASSERT_EQ(got.receipt().message_ids_size(), static_cast<int>(kMaxReceiptIds));
  EXPECT_EQ(got.receipt().message_ids(999), sent.receipt().message_ids(999));
}

// A message sent again (Receipt RESEND) names its original by a whole
// message id, and only a text or a letter can be one.
TEST(CodecTest, AResendNamesItsOriginalByAWholeId) {
  Content text;
  text.mutable_text()->set_body("again");
  text.set_resend_of(std::string(kMessageIdBytes, 'i'));
  EXPECT_THAT(ValidateContent(text), IsOk());
  text.set_resend_of("abc");
  EXPECT_THAT(DecodeContent(EncodeContent(text)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resend_of is 3 bytes")));
  Content receipt = ReceiptFor(v1::content::Receipt::RESEND, 1);
  EXPECT_THAT(ValidateContent(receipt), IsOk());
  receipt.set_resend_of(std::string(kMessageIdBytes, 'i'));
  EXPECT_THAT(ValidateContent(receipt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only a text or a letter")));
}

TEST(CodecTest, ReceiptLimitsAndShape) {
  EXPECT_THAT(ValidateContent(ReceiptFor(v1::content::Receipt::DELIVERED, kMaxReceiptIds + 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1000")));
  EXPECT_THAT(
      DecodeContent(EncodeContent(ReceiptFor(v1::content::Receipt::DELIVERED, kMaxReceiptIds + 1))),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateContent(ReceiptFor(v1::content::Receipt::DELIVERED, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no messages")));
  EXPECT_THAT(ValidateContent(ReceiptFor(v1::content::Receipt::TYPE_UNSPECIFIED, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELIVERED, READ or RESEND")));
  Content bad_id = ReceiptFor(v1::content::Receipt::READ, 1);
  bad_id.mutable_receipt()->add_message_ids("abc");
  EXPECT_THAT(ValidateContent(bad_id),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("message id")));
}

TEST(CodecTest, ReceiptOfUnknownTypeFromOthersStillDecodes) {
  Content c = ReceiptFor(v1::content::Receipt::DELIVERED, 2);
  c.mutable_receipt()->set_type(static_cast<v1::content::Receipt::Type>(7));
  ASSERT_OK_AND_ASSIGN(Content got, DecodeContent(EncodeContent(c)));
  EXPECT_EQ(got.receipt().message_ids_size(), 2);
}

}  // namespace
}  // namespace sotto::client::content
