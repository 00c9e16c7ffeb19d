// What a device does with what another device of its own account tells it
// (client-lib/incoming/own_sync.h), against a real local store: a sent
// transcript becomes our message once however often it comes, read state
// marks a contact's messages read, a cancellation marks a transcript's
// send-later message cancelled, and what names another conversation changes
// nothing.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/history_book.h"
#include "client-lib/incoming/own_sync.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

using v1::content::Content;

constexpr char kMe[] = "dr-lee";
constexpr char kClient[] = "sam";

std::string Id(int n) {
  std::string id(content::kMessageIdBytes, '\0');
  id[15] = static_cast<char>(n);
  return id;
}

class OwnSyncTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = storage::NewMemoryStore(); }

  // Applies `content` as if device 2 of our account sent it; returns
  // whether it added a transcript.
  bool Apply(const Content& content) {
    v1::Envelope envelope;
    envelope.set_sender(kMe);
    envelope.set_sender_device(2);
    std::optional<StoredMessage> transcript;
    absl::StatusOr<std::vector<storage::Write>> writes =
        OwnSyncWrites(*store_, envelope, content, transcript);
    EXPECT_OK(writes.status());
    if (!writes.ok()) return false;
    if (!writes->empty()) EXPECT_OK(store_->Apply(*writes));
    return transcript.has_value();
  }

  static Content Transcript(int id, int64_t deliver_at_ms = 0) {
    Content c;
    v1::content::SentTranscript* t = c.mutable_sent_transcript();
    t->set_recipient(kClient);
    t->set_message_id(Id(id));
    t->set_server_time_ms(1000 + id);
    t->set_deliver_at_ms(deliver_at_ms);
    t->mutable_message()->mutable_letter()->set_subject("Re: Sunday");
    t->mutable_message()->mutable_letter()->set_body("Tuesday then");
    t->mutable_message()->mutable_letter()->set_thread_id(Id(90));
    return c;
  }

  // A message from the client, as a contact's envelope is stored.
  void Incoming(int id) {
    StoredMessage m;
    m.set_message_id(Id(id));
    m.set_peer(kClient);
    m.set_server_time_ms(500 + id);
    m.mutable_content()->mutable_text()->set_body("hello");
    absl::StatusOr<std::vector<storage::Write>> writes = history::HistoryWrites(*store_, m);
    ASSERT_OK(writes.status());
    ASSERT_OK(store_->Apply(*writes));
  }

  std::vector<Message> Conversation() {
    absl::StatusOr<history::ConversationRead> read =
        history::ReadConversation(*store_, kClient, 5000, /*read_receipts=*/false);
    EXPECT_OK(read.status());
    return read.ok() ? read->messages : std::vector<Message>();
  }

  uint32_t Unread() {
    absl::StatusOr<std::vector<sotto::Conversation>> all = history::ListConversations(*store_);
    EXPECT_OK(all.status());
    return all.ok() && !all->empty() ? (*all)[0].unread_count : 999;
  }

  std::unique_ptr<storage::LocalStore> store_;
};

TEST_F(OwnSyncTest, ATranscriptIsStoredOnceAsOurMessageFromThatDevice) {
  EXPECT_TRUE(Apply(Transcript(1)));
  EXPECT_FALSE(Apply(Transcript(1)));  // the same transcript again
  std::vector<Message> messages = Conversation();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].outgoing);
  EXPECT_EQ(messages[0].from_device, 2u);
  EXPECT_EQ(messages[0].subject, "Re: Sunday");
  EXPECT_EQ(messages[0].state, DeliveryState::kSent);
  EXPECT_EQ(messages[0].server_time_ms, 1001);
  EXPECT_EQ(messages[0].thread_id, absl::BytesToHexString(Id(90)));
}

TEST_F(OwnSyncTest, ASendLaterTranscriptIsScheduledUntilCancelled) {
  EXPECT_TRUE(Apply(Transcript(2, /*deliver_at_ms=*/9000)));
  ASSERT_EQ(Conversation().size(), 1u);
  EXPECT_EQ(Conversation()[0].state, DeliveryState::kScheduled);
  Content cancel;
  cancel.mutable_cancel_sync()->set_recipient("someone-else");
  cancel.mutable_cancel_sync()->set_message_id(Id(2));
  Apply(cancel);  // names another conversation: nothing changes
  EXPECT_EQ(Conversation()[0].state, DeliveryState::kScheduled);
  cancel.mutable_cancel_sync()->set_recipient(kClient);
  Apply(cancel);
  EXPECT_EQ(Conversation()[0].state, DeliveryState::kCancelled);
}

TEST_F(OwnSyncTest, ReadStateMarksTheContactsMessagesReadAndOnlyThose) {
  Incoming(3);
  Incoming(4);
  EXPECT_TRUE(Apply(Transcript(5)));
  EXPECT_EQ(Unread(), 2u);
  Content read;
  read.mutable_read_sync()->set_peer(kClient);
  read.mutable_read_sync()->add_message_ids(Id(3));
  read.mutable_read_sync()->add_message_ids(Id(5));   // ours: not a read of theirs
  read.mutable_read_sync()->add_message_ids(Id(77));  // unknown
  Apply(read);
  EXPECT_EQ(Unread(), 1u);
  Apply(read);  // again: nothing more
  EXPECT_EQ(Unread(), 1u);
  // Opening the conversation now queues a read receipt for message 4 only.
  absl::StatusOr<history::ConversationRead> opened =
      history::ReadConversation(*store_, kClient, 5000, /*read_receipts=*/true);
  ASSERT_OK(opened.status());
  EXPECT_THAT(opened->newly_read, ::testing::ElementsAre(Id(4)));
}

TEST_F(OwnSyncTest, ATranscriptToOurselvesOrToNoHandleIsIgnored) {
  Content to_me = Transcript(6);
  to_me.mutable_sent_transcript()->set_recipient(kMe);
  EXPECT_FALSE(Apply(to_me));
  Content to_nobody = Transcript(7);
  to_nobody.mutable_sent_transcript()->set_recipient("Not A Handle!");
  EXPECT_FALSE(Apply(to_nobody));
  Content text;
  text.mutable_text()->set_body("our devices never write to us");
  EXPECT_FALSE(Apply(text));
  EXPECT_THAT(history::ListConversations(*store_),
              ::sotto::testing::IsOkAndHolds(::testing::IsEmpty()));
}

}  // namespace
}  // namespace sotto::client
