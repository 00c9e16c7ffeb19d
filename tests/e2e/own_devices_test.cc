// One account, two devices, one conversation (issue 16), through the real
// server with real profiles and Signal sessions: a therapist answers from
// either device while a client writes, and both devices show the same
// conversation (sent transcripts), the same queue (server-side), the
// client's delivery and read receipts, and what was read on the other
// device — with one read receipt to the client, not one per device. A
// send-later message shows as scheduled on both and is cancelled on the
// device that scheduled it; a removed device gets nothing more; the server
// holds no plaintext of any of it.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linked_devices_fixture.h"
#include "profile_pair.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "store_switch_store.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class OwnDevicesTest : public LinkedDevicesTest {
 protected:
  // The conversation with `peer` as one line per message: direction, id,
  // kind, subject, thread, text and (for our own) the sending device.
  static std::vector<std::string> Lines(Client& c, const std::string& peer) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<Message>> messages = c.ReadConversation(peer);
    EXPECT_OK(messages.status());
    if (!messages.ok()) return out;
    for (const Message& m : *messages) {
      out.push_back(absl::StrCat(m.outgoing ? "> " : "< ", m.id, " ", m.subject, "|", m.thread_id,
                                 "|", m.text));
    }
    return out;
  }

  static const Message* Find(const std::vector<Message>& messages, const std::string& id) {
    for (const Message& m : messages) {
      if (m.id == id) return &m;
    }
    return nullptr;
  }

  // The state of message `id` as `c` shows it.
  static std::string StateOf(Client& c, const std::string& peer, const std::string& id) {
    absl::StatusOr<std::vector<Message>> messages = c.ReadConversation(peer);
    if (!messages.ok()) return messages.status().ToString();
    const Message* m = Find(*messages, id);
    return m == nullptr ? "missing" : DeliveryStateName(m->state);
  }

  static uint32_t Unread(Client& c, const std::string& peer) {
    absl::StatusOr<std::vector<Conversation>> all = c.ListConversations();
    EXPECT_OK(all.status());
    if (!all.ok()) return 999;
    for (const Conversation& conv : *all) {
      if (conv.peer == peer) return conv.unread_count;
    }
    return 999;
  }

  static const QueueEntry* QueueOf(Client& c, const std::string& client, QueueView& view) {
    absl::StatusOr<QueueView> listed = c.ListQueue(/*include_all=*/true);
    EXPECT_OK(listed.status());
    if (!listed.ok()) return nullptr;
    view = *std::move(listed);
    for (const QueueEntry& e : view.entries) {
      if (e.client == client) return &e;
    }
    return nullptr;
  }

  // With the server stopped: the envelopes waiting in the queue of
  // `handle`'s device `device`, counted by the sending device of `from`.
  std::map<uint32_t, int> QueuedFrom(const std::string& handle, uint32_t device,
                                     const std::string& from) {
    std::map<uint32_t, int> counts;
    absl::StatusOr<std::unique_ptr<server::Store>> store =
        sotto::testing::OpenServerStore(*server_);
    EXPECT_OK(store.status());
    if (!store.ok()) return counts;
    absl::StatusOr<std::vector<server::KeyValue>> rows =
        (*store)->Scan(server::Table::kQueues, server::keys::QueuePrefix(handle, device), "", 1000);
    EXPECT_OK(rows.status());
    if (!rows.ok()) return counts;
    for (const server::KeyValue& row : *rows) {
      absl::StatusOr<server::StoredEnvelope> e = server::records::DecodeEnvelope(0, row.value);
      EXPECT_OK(e.status());
      if (e.ok() && e->sender == from) ++counts[e->sender_device];
    }
    return counts;
  }
};

TEST_F(OwnDevicesTest, ATherapistAnswersFromEitherDeviceAndBothShowTheWholeConversation) {
  Greet();
  std::unique_ptr<Client> office = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(office, nullptr);

  // The client writes a letter; both devices get it.
  ASSERT_OK_AND_ASSIGN(SendResult letter,
                       client_->SendLetter(kTherapist, "Sunday", "I could not sleep again"));
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(office->Sync().status());

  // The phone (device 1) answers in the thread; the office shows the answer
  // as its own, with the same id, subject and thread.
  ASSERT_OK_AND_ASSIGN(SendResult reply,
                       therapist_->Reply(letter.message.id, "Let us talk on Tuesday"));
  ASSERT_OK_AND_ASSIGN(SyncStats at_office, office->Sync());
  EXPECT_EQ(at_office.transcripts, 1);
  EXPECT_EQ(at_office.received, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> seen, office->ReadConversation(kClient));
  const Message* copied = Find(seen, reply.message.id);
  ASSERT_NE(copied, nullptr);
  EXPECT_TRUE(copied->outgoing);
  EXPECT_EQ(copied->from_device, 1u);
  EXPECT_EQ(copied->kind, MessageKind::kLetter);
  EXPECT_EQ(copied->subject, "Re: Sunday");
  EXPECT_EQ(copied->thread_id, letter.message.id);
  EXPECT_EQ(copied->in_reply_to, letter.message.id);
  EXPECT_EQ(copied->server_time_ms, reply.message.server_time_ms);

  // The office answers too; the phone shows it.
  ASSERT_OK_AND_ASSIGN(SendResult from_office,
                       office->SendText(kClient, "I moved Tuesday to 4 pm"));
  ASSERT_OK_AND_ASSIGN(SyncStats at_phone, therapist_->Sync());
  EXPECT_EQ(at_phone.transcripts, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> on_phone, therapist_->ReadConversation(kClient));
  const Message* mirrored = Find(on_phone, from_office.message.id);
  ASSERT_NE(mirrored, nullptr);
  EXPECT_EQ(mirrored->from_device, 2u);
  EXPECT_EQ(Find(on_phone, reply.message.id)->from_device, 0u);

  // The client writes again meanwhile; both devices show the same
  // conversation from the letter on (the office joined after the greeting:
  // history transfer is another part of issue 16).
  ASSERT_OK(client_->SendText(kTherapist, "Thank you").status());
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(office->Sync().status());
  std::vector<std::string> phone_lines = Lines(*therapist_, kClient);
  ASSERT_GE(phone_lines.size(), 2u);
  phone_lines.erase(phone_lines.begin(), phone_lines.begin() + 2);  // hello, welcome
  EXPECT_EQ(Lines(*office, kClient), phone_lines);
  EXPECT_EQ(phone_lines.size(), 4u);

  // The client got both answers, from one therapist.
  ASSERT_OK_AND_ASSIGN(SyncStats at_client, client_->Sync());
  EXPECT_EQ(at_client.received, 2);
  EXPECT_EQ(at_client.held, 0);

  // A transcript seen again (a second sync) adds nothing.
  ASSERT_OK_AND_ASSIGN(SyncStats again, office->Sync());
  EXPECT_EQ(again.transcripts, 0);
  EXPECT_EQ(Lines(*office, kClient).size(), 4u);
}

TEST_F(OwnDevicesTest, QueueActionsOnOneDeviceShowOnTheOther) {
  Greet();
  std::unique_ptr<Client> office = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(office, nullptr);
  ASSERT_OK(client_->SendText(kTherapist, "Can we move Thursday?").status());
  QueueView view;
  const QueueEntry* entry = QueueOf(*office, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ConversationState::kWaiting);
  EXPECT_EQ(entry->waiting_count, 1u);

  ASSERT_OK(therapist_->Claim(kClient));
  entry = QueueOf(*office, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->claimed_by, kTherapist);

  ASSERT_OK(therapist_->Snooze(kClient, absl::Now() + absl::Hours(2)));
  entry = QueueOf(*office, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ConversationState::kSnoozed);

  ASSERT_OK(therapist_->Close(kClient));
  entry = QueueOf(*office, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ConversationState::kClosed);

  // An answer from the office counts for the account: the phone's queue
  // shows the conversation answered. The transcript to the phone does not
  // count as a message in anyone's queue.
  ASSERT_OK(client_->SendText(kTherapist, "Hello?").status());
  entry = QueueOf(*therapist_, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ConversationState::kWaiting);
  ASSERT_OK(office->SendText(kClient, "Thursday at 5 works").status());
  entry = QueueOf(*therapist_, kClient, view);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ConversationState::kAnswered);
  EXPECT_EQ(entry->waiting_count, 0u);
}

TEST_F(OwnDevicesTest, ReceiptsReachBothDevicesAndReadingOnOneMarksTheOtherWithOneReceipt) {
  Greet();
  std::unique_ptr<Client> office = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(office, nullptr);
  ASSERT_OK(office->Sync().status());

  // Delivered and read: the client's receipts move the phone's message on
  // both devices.
  ASSERT_OK_AND_ASSIGN(SendResult sent, therapist_->SendText(kClient, "See you Tuesday"));
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(StateOf(*office, kClient, sent.message.id), "sent");
  ASSERT_OK(client_->Sync().status());  // sends DELIVERED
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(StateOf(*therapist_, kClient, sent.message.id), "delivered");
  EXPECT_EQ(StateOf(*office, kClient, sent.message.id), "delivered");
  ASSERT_OK(client_->ReadConversation(kTherapist).status());
  ASSERT_OK(client_->SendPendingReceipts());  // READ
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(StateOf(*therapist_, kClient, sent.message.id), "read");
  EXPECT_EQ(StateOf(*office, kClient, sent.message.id), "read");

  // The client writes twice; both devices have them unread.
  ASSERT_OK(client_->SendText(kTherapist, "One more thing").status());
  ASSERT_OK(client_->SendText(kTherapist, "Never mind").status());
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(Unread(*therapist_, kClient), 2u);
  EXPECT_EQ(Unread(*office, kClient), 2u);

  // Read on the phone: the office shows them read too...
  ASSERT_OK(therapist_->ReadConversation(kClient).status());
  ASSERT_OK(therapist_->SendPendingReceipts());
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(Unread(*office, kClient), 0u);
  // ...and opening the conversation there sends no second read receipt.
  ASSERT_OK(office->ReadConversation(kClient).status());
  ASSERT_OK(office->SendPendingReceipts());

  // What waits for the client from the therapist since its last sync: from
  // the phone a READ for "hello" (opened by StateOf above), a DELIVERED and
  // the READ of the two; from the office its DELIVERED only, no READ.
  client_.reset();
  ASSERT_OK(server_->Stop());
  EXPECT_THAT(
      QueuedFrom(kClient, 1, kTherapist),
      ElementsAre(std::pair<const uint32_t, int>(1, 3), std::pair<const uint32_t, int>(2, 1)));
}

TEST_F(OwnDevicesTest, ASendLaterMessageShowsScheduledOnBothAndIsCancelledWhereItWasScheduled) {
  Greet();
  std::unique_ptr<Client> office = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(office, nullptr);
  SendOptions later;
  later.deliver_at = absl::Now() + absl::Hours(12);
  ASSERT_OK_AND_ASSIGN(SendResult held,
                       therapist_->SendLetter(kClient, "Tomorrow", "A reminder for 9 am", later));
  ASSERT_EQ(held.message.state, DeliveryState::kScheduled);
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(StateOf(*office, kClient, held.message.id), "scheduled");

  // The server holds it for the phone: the office says so and changes
  // nothing.
  EXPECT_THAT(office->CancelScheduled(held.message.id),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("scheduled from device 1 of this account")));
  EXPECT_EQ(StateOf(*office, kClient, held.message.id), "scheduled");

  ASSERT_OK(therapist_->CancelScheduled(held.message.id));
  ASSERT_OK(office->Sync().status());
  EXPECT_EQ(StateOf(*office, kClient, held.message.id), "cancelled");
  EXPECT_EQ(StateOf(*therapist_, kClient, held.message.id), "cancelled");
}

TEST_F(OwnDevicesTest, ARemovedDeviceGetsNoTranscriptsAndTheServerHoldsNoPlaintext) {
  Greet();
  std::unique_ptr<Client> office = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(office, nullptr);
  const std::string kSecrets[] = {"my panic attacks came back", "breathing exercise twice daily",
                                  "a reminder about the medication", "tell nobody about this"};
  ASSERT_OK(client_->SendText(kTherapist, kSecrets[0]).status());
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(therapist_->SendLetter(kClient, kSecrets[1], kSecrets[2]).status());
  ASSERT_OK(office->Sync().status());
  ASSERT_OK(therapist_->ReadConversation(kClient).status());
  ASSERT_OK(therapist_->SendPendingReceipts());

  // The office is removed; the phone's next message goes to the client
  // as ever, and its transcript to no one (the server refuses device 2).
  ASSERT_OK(therapist_->RemoveDevice(2));
  EXPECT_THAT(office->Sync().status(), StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_OK_AND_ASSIGN(SendResult after, therapist_->SendText(kClient, kSecrets[3]));
  EXPECT_EQ(after.message.state, DeliveryState::kSent);
  ASSERT_OK_AND_ASSIGN(SyncStats got, client_->Sync());
  EXPECT_EQ(got.received, 2);

  // A device linked afterwards gets what is sent from then on, and nothing
  // meant for the removed one.
  std::unique_ptr<Client> laptop = LinkSecond(dir_.sub("t3"));
  ASSERT_NE(laptop, nullptr);
  EXPECT_EQ(laptop->device_id(), 3u);
  ASSERT_OK_AND_ASSIGN(SendResult later, therapist_->SendText(kClient, "from the phone again"));
  ASSERT_OK_AND_ASSIGN(SyncStats at_laptop, laptop->Sync());
  EXPECT_EQ(at_laptop.transcripts, 1);
  EXPECT_EQ(at_laptop.undecryptable, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> on_laptop, laptop->ReadConversation(kClient));
  ASSERT_EQ(on_laptop.size(), 1u);
  EXPECT_EQ(on_laptop[0].id, later.message.id);

  client_.reset();
  therapist_.reset();
  office.reset();
  laptop.reset();
  ASSERT_OK(server_->Stop());
  // The scan reads what the server stored, or it proves nothing.
  const std::string stored = sotto::testing::ServerStoreFiles(*server_);
  ASSERT_TRUE(sotto::testing::AnyFileContains(stored, kClient));
  for (const std::string& secret : kSecrets) {
    EXPECT_FALSE(sotto::testing::AnyFileContains(stored, secret))
        << "plaintext on the server: " << secret;
  }
}

}  // namespace
}  // namespace sotto
