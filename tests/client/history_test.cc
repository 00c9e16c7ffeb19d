// The local history's rules that need no server: delivery states under
// receipts, the receipt outbox, reply subjects and message-id prefixes.

#include <string>
#include <vector>

#include "client-lib/content/codec.h"
#include "client-lib/history/delivery_state.h"
#include "client-lib/history/history_book.h"
#include "client-lib/history/outbox.h"
#include "client-lib/history/reply.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::history {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using v1::content::Receipt;

std::string Id(int n) {
  std::string id(content::kMessageIdBytes, '\0');
  id[14] = static_cast<char>(n >> 8);
  id[15] = static_cast<char>(n & 0xff);
  return id;
}

TEST(DeliveryStateTest, ReceiptsMoveSentToDeliveredToRead) {
  DeliveryState s = DeliveryState::kSent;
  s = ApplyReceipt(s, Receipt::DELIVERED);
  EXPECT_EQ(s, DeliveryState::kDelivered);
  s = ApplyReceipt(s, Receipt::READ);
  EXPECT_EQ(s, DeliveryState::kRead);
}

TEST(DeliveryStateTest, NeverDowngrades) {
  // A read receipt overtook the delivery receipt; then both are redelivered.
  EXPECT_EQ(ApplyReceipt(DeliveryState::kRead, Receipt::DELIVERED), DeliveryState::kRead);
  EXPECT_EQ(ApplyReceipt(DeliveryState::kRead, Receipt::READ), DeliveryState::kRead);
  EXPECT_EQ(ApplyReceipt(DeliveryState::kDelivered, Receipt::DELIVERED), DeliveryState::kDelivered);
  EXPECT_EQ(ApplyReceipt(DeliveryState::kSent, Receipt::READ), DeliveryState::kRead);
}

TEST(DeliveryStateTest, ScheduledMessageMovesOnWhenReleasedAndCancelledStaysCancelled) {
  EXPECT_EQ(ApplyReceipt(DeliveryState::kScheduled, Receipt::DELIVERED), DeliveryState::kDelivered);
  EXPECT_EQ(ApplyReceipt(DeliveryState::kCancelled, Receipt::READ), DeliveryState::kCancelled);
}

TEST(DeliveryStateTest, UnknownReceiptTypeChangesNothing) {
  EXPECT_EQ(ApplyReceipt(DeliveryState::kSent, Receipt::TYPE_UNSPECIFIED), DeliveryState::kSent);
  EXPECT_EQ(ApplyReceipt(DeliveryState::kSent, static_cast<Receipt::Type>(9)),
            DeliveryState::kSent);
}

TEST(DeliveryStateTest, ScheduledIsReportedSentOnceItsTimeHasPassed) {
  EXPECT_EQ(ReportedState(DeliveryState::kScheduled, 2000, 1999), DeliveryState::kScheduled);
  EXPECT_EQ(ReportedState(DeliveryState::kScheduled, 2000, 2000), DeliveryState::kSent);
  EXPECT_EQ(ReportedState(DeliveryState::kCancelled, 2000, 3000), DeliveryState::kCancelled);
  EXPECT_EQ(ReportedState(DeliveryState::kRead, 2000, 1000), DeliveryState::kRead);
}

TEST(DeliveryStateTest, OldAndUnknownStoredStatesReadAsSent) {
  EXPECT_EQ(StoredState(0), DeliveryState::kSent);
  EXPECT_EQ(StoredState(42), DeliveryState::kSent);
  EXPECT_EQ(StoredState(static_cast<int32_t>(DeliveryState::kRead)), DeliveryState::kRead);
}

TEST(OutboxTest, AddPendingKeepsOrderAndDropsDuplicates) {
  PendingReceipts pending;
  AddPending({Id(1), Id(2)}, pending);
  AddPending({Id(2), Id(3), Id(1)}, pending);
  EXPECT_THAT(pending.message_ids(), ElementsAre(Id(1), Id(2), Id(3)));
}

TEST(OutboxTest, CutReceiptsSplitsAt1000Ids) {
  PendingReceipts pending;
  pending.set_type(Receipt::READ);
  std::vector<std::string> ids;
  for (int i = 0; i < 2500; ++i) ids.push_back(Id(i));
  AddPending(ids, pending);
  std::vector<Receipt> receipts = CutReceipts(pending);
  ASSERT_EQ(receipts.size(), 3u);
  EXPECT_EQ(receipts[0].message_ids_size(), 1000);
  EXPECT_EQ(receipts[1].message_ids_size(), 1000);
  EXPECT_EQ(receipts[2].message_ids_size(), 500);
  EXPECT_EQ(receipts[2].type(), Receipt::READ);
  EXPECT_EQ(receipts[1].message_ids(0), Id(1000));
  for (const Receipt& r : receipts) {
    v1::content::Content c;
    *c.mutable_receipt() = r;
    EXPECT_OK(content::ValidateContent(c));
  }
}

TEST(OutboxTest, NothingPendingCutsNothing) { EXPECT_TRUE(CutReceipts(PendingReceipts()).empty()); }

TEST(OutboxTest, KeysSeparateTypesOfOnePeer) {
  const std::string blinded(16, '\x07');
  EXPECT_NE(OutboxKey(blinded, Receipt::DELIVERED), OutboxKey(blinded, Receipt::READ));
  EXPECT_EQ(OutboxKey(blinded, Receipt::READ).substr(0, 16), blinded);
}

// A sender's retry reuses a message id: a later batch that starts with it
// must not overwrite a waiting row holding other messages' receipts.
TEST(OutboxTest, TwoBatchesStartingWithTheSameIdAreTwoRows) {
  std::unique_ptr<storage::LocalStore> store = storage::NewMemoryStore();
  ASSERT_OK(store->Apply(PendingReceiptWrites(*store, "sam", Receipt::DELIVERED, {Id(1), Id(2)})));
  ASSERT_OK(store->Apply(PendingReceiptWrites(*store, "sam", Receipt::DELIVERED, {Id(1), Id(3)})));
  ASSERT_OK_AND_ASSIGN(auto rows, store->Scan(storage::Space::kOutbox, ""));
  std::vector<std::string> ids;
  for (const auto& row : rows) {
    PendingReceipts pending;
    ASSERT_TRUE(pending.ParseFromString(row.value));
    for (const std::string& id : pending.message_ids()) ids.push_back(id);
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(Id(1), Id(2), Id(1), Id(3)));
}

TEST(ReplyTest, SubjectGetsOneRe) {
  EXPECT_EQ(ReplySubject("Since Tuesday"), "Re: Since Tuesday");
  EXPECT_EQ(ReplySubject("Re: Since Tuesday"), "Re: Since Tuesday");
  EXPECT_EQ(ReplySubject("RE: shouting"), "RE: shouting");
  EXPECT_EQ(ReplySubject("re:tight"), "re:tight");
  // "Regarding" is not a reply prefix.
  EXPECT_EQ(ReplySubject("Regarding sleep"), "Re: Regarding sleep");
}

TEST(ReplyTest, LongSubjectIsCutToTheLimitAtACharacterBoundary) {
  // 99 two-byte characters (198 bytes): "Re: " makes 202, cut to 200.
  std::string subject;
  for (int i = 0; i < 99; ++i) subject += "\xc3\xa9";  // é
  const std::string reply = ReplySubject(subject);
  EXPECT_LE(reply.size(), content::kMaxLetterSubjectBytes);
  EXPECT_EQ(reply.size(), 200u);
  v1::content::Content c;
  c.mutable_letter()->set_subject(reply);
  c.mutable_letter()->set_body("ok");
  EXPECT_OK(content::ValidateContent(c));

  std::string odd = "x" + subject;  // 199 bytes: the cut would split an é
  const std::string cut = ReplySubject(odd);
  EXPECT_EQ(cut.size(), 199u);
  c.mutable_letter()->set_subject(cut);
  EXPECT_OK(content::ValidateContent(c));
}

TEST(ReplyTest, IdPrefixIsSixToThirtyTwoHexCharacters) {
  ASSERT_OK_AND_ASSIGN(std::string p, NormalizeIdPrefix("ABCdef"));
  EXPECT_EQ(p, "abcdef");
  EXPECT_THAT(NormalizeIdPrefix("abcde"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("6 to 32")));
  EXPECT_THAT(NormalizeIdPrefix(std::string(33, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeIdPrefix("abcdeg"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not hexadecimal")));
  EXPECT_OK(NormalizeIdPrefix(std::string(32, 'f')).status());
}

}  // namespace
}  // namespace sotto::client::history
