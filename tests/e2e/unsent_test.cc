// What a person wrote survives a send that fails, and a send that waits on
// the network never holds up the rest of the Client: the real server, real
// clients, a TCP proxy or a stopped server as the fault.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/client.h"
#include "testing/status_matchers.h"
#include "testing/tcp_proxy.h"

namespace sotto {
namespace {

using ::sotto::testing::Party;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

class UnsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(rivera_, RegisterTherapist(*server_, "dr-rivera"));
    ASSERT_OK_AND_ASSIGN(sam_, RegisterClient(server_->address(), "sam", rivera_));
  }

  int port() const {
    const std::string& a = server_->address();
    return std::stoi(a.substr(a.rfind(':') + 1));
  }

  // The one message of sam's conversation with dr-rivera whose text is `text`.
  std::optional<Message> SamsMessage(const std::string& text) {
    absl::StatusOr<std::vector<Message>> history = sam_.client->ReadConversation("dr-rivera");
    if (!history.ok()) return std::nullopt;
    for (const Message& m : *history) {
      if (m.text == text) return m;
    }
    return std::nullopt;
  }

  // Restarts the server on its address and waits until sam's connection,
  // which failed during the outage, reaches it again (gRPC retries the
  // connection with a backoff of up to 2 s). Nothing is sent meanwhile.
  void RestartAndReconnect() {
    ASSERT_OK(server_->Restart(/*same_address=*/true));
    const absl::Time give_up = absl::Now() + absl::Seconds(15);
    absl::Status reached = sam_.client->ListLinks().status();
    while (!reached.ok() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(100));
      reached = sam_.client->ListLinks().status();
    }
    ASSERT_OK(reached);
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  Party rivera_;
  Party sam_;
};

// The Client's lock is not held while a Send waits for the server: with the
// network gone silent under a send in flight, the conversation list and the
// history answer from the local store at once, and already show the message
// being sent.
TEST_F(UnsentTest, LocalCallsAnswerWhileASendWaitsOnTheNetwork) {
  auto proxy = std::make_unique<sotto::testing::TcpProxy>(port());
  // Sam talks to the server through the proxy; one message first, so the
  // session exists and the next send goes straight to the network.
  ASSERT_OK_AND_ASSIGN(auto invite, rivera_.client->CreateInvite());
  RegisterOptions options;
  options.server_address = proxy->address();
  options.handle = "kim";
  options.invite_code = invite.code;
  ASSERT_OK_AND_ASSIGN(Party kim, sotto::testing::RegisterWith(options));
  ASSERT_OK(kim.client->SendText("dr-rivera", "hello").status());

  proxy->Blackhole();
  std::atomic<bool> send_returned{false};
  absl::StatusOr<SendResult> stalled;
  std::thread sender([&] {
    stalled = kim.client->SendText("dr-rivera", "sent into the silence");
    send_returned = true;
  });
  // The send records the message before it goes to the network: once the
  // conversation list shows it, the send is on the wire (or about to be).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool recorded = false;
  while (!recorded && absl::Now() < deadline) {
    absl::StatusOr<std::vector<Conversation>> list = kim.client->ListConversations();
    ASSERT_OK(list.status());
    recorded = list->size() == 1 && (*list)[0].preview == "sent into the silence";
  }
  ASSERT_TRUE(recorded) << "the conversation list never showed the message being sent";

  // Both local calls return while the send still waits (its deadline is 15 s).
  ASSERT_OK_AND_ASSIGN(auto conversations, kim.client->ListConversations());
  ASSERT_OK_AND_ASSIGN(auto history, kim.client->ReadConversation("dr-rivera"));
  EXPECT_FALSE(send_returned.load()) << "the send finished before the local calls were tried";
  EXPECT_THAT(conversations, SizeIs(1));
  EXPECT_THAT(Texts(history), ElementsAre("hello", "sent into the silence"));
  EXPECT_EQ(history[1].state, DeliveryState::kNotSent);

  proxy.reset();  // the connection drops: the send gives up quickly
  sender.join();
  EXPECT_FALSE(stalled.ok());
  ASSERT_OK_AND_ASSIGN(history, kim.client->ReadConversation("dr-rivera"));
  EXPECT_EQ(history[1].state, DeliveryState::kNotSent) << history[1].failure;
  EXPECT_FALSE(history[1].failure.empty());
}

// A letter written while the server is down is kept as not sent, and goes —
// once — with the next sync after the server is back.
TEST_F(UnsentTest, ALetterWrittenDuringAnOutageGoesWithTheNextSync) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "before").status());
  ASSERT_OK(server_->Stop());
  EXPECT_THAT(sam_.client->SendLetter("dr-rivera", "Tonight", "A long letter at 2 a.m."),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("kept as not sent")));
  std::optional<Message> kept = SamsMessage("A long letter at 2 a.m.");
  ASSERT_TRUE(kept.has_value()) << "the letter is not in the history";
  EXPECT_EQ(kept->state, DeliveryState::kNotSent);
  EXPECT_EQ(kept->subject, "Tonight");
  EXPECT_FALSE(kept->failure.empty());

  ASSERT_NO_FATAL_FAILURE(RestartAndReconnect());
  ASSERT_OK_AND_ASSIGN(SyncStats stats, sam_.client->Sync());
  EXPECT_EQ(stats.resent, 1);
  kept = SamsMessage("A long letter at 2 a.m.");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->state, DeliveryState::kSent);
  EXPECT_TRUE(kept->failure.empty());

  ASSERT_OK_AND_ASSIGN(SyncStats received, rivera_.client->Sync());
  EXPECT_EQ(received.received, 2);
  ASSERT_OK_AND_ASSIGN(auto theirs, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(theirs), ElementsAre("before", "A long letter at 2 a.m."));
  // Nothing more goes on the next sync.
  ASSERT_OK_AND_ASSIGN(stats, sam_.client->Sync());
  EXPECT_EQ(stats.resent, 0);
  ASSERT_OK_AND_ASSIGN(received, rivera_.client->Sync());
  EXPECT_EQ(received.received, 0);
}

// Unsent messages go before a new one, in the order they were written.
TEST_F(UnsentTest, UnsentMessagesGoBeforeTheNextOneInOrder) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "one").status());
  ASSERT_OK(server_->Stop());
  EXPECT_FALSE(sam_.client->SendText("dr-rivera", "two").ok());
  EXPECT_FALSE(sam_.client->SendText("dr-rivera", "three").ok());
  ASSERT_NO_FATAL_FAILURE(RestartAndReconnect());
  ASSERT_OK(sam_.client->SendText("dr-rivera", "four").status());
  ASSERT_OK(rivera_.client->Sync().status());
  ASSERT_OK_AND_ASSIGN(auto theirs, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(theirs), ElementsAre("one", "two", "three", "four"));
}

// A message the server refuses for good while its writer waits for the
// answer is not kept: the caller is told and still has the text.
TEST_F(UnsentTest, AMessageRefusedOnTheSpotIsNotKept) {
  ASSERT_OK_AND_ASSIGN(Party other, RegisterTherapist(*server_, "dr-other"));
  EXPECT_THAT(sam_.client->SendText("dr-other", "are you taking new clients?"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("dr-other")));
  EXPECT_THAT(sam_.client->ReadConversation("dr-other"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto inbox, sam_.client->ListConversations());
  EXPECT_THAT(inbox, ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(int resent, sam_.client->RetryUnsent());
  EXPECT_EQ(resent, 0);
}

// A message kept as not sent that the server refuses when it is retried
// (the care link ended meanwhile) stays, marked failed with the reason; a
// sync does not send it again, RetryUnsent does, and it can be discarded.
TEST_F(UnsentTest, ARetriedMessageRefusedForGoodIsKeptAsFailedUntilDiscarded) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "first").status());
  ASSERT_OK(server_->Stop());
  EXPECT_FALSE(sam_.client->SendText("dr-rivera", "written offline").ok());
  ASSERT_NO_FATAL_FAILURE(RestartAndReconnect());
  ASSERT_OK(rivera_.client->EndLink("sam"));

  ASSERT_OK_AND_ASSIGN(SyncStats stats, sam_.client->Sync());
  EXPECT_EQ(stats.resent, 0);
  std::optional<Message> kept = SamsMessage("written offline");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->state, DeliveryState::kFailed);
  EXPECT_FALSE(kept->failure.empty());
  ASSERT_OK_AND_ASSIGN(stats, sam_.client->Sync());
  EXPECT_EQ(stats.resent, 0);
  EXPECT_THAT(sam_.client->RetryUnsent(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("care link")));

  ASSERT_OK(sam_.client->CancelScheduled(kept->id));
  kept = SamsMessage("written offline");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->state, DeliveryState::kCancelled);
  ASSERT_OK_AND_ASSIGN(int resent, sam_.client->RetryUnsent());
  EXPECT_EQ(resent, 0);
  ASSERT_OK_AND_ASSIGN(auto inbox, sam_.client->ListConversations());
  ASSERT_THAT(inbox, SizeIs(1));
  EXPECT_EQ(inbox[0].preview, "first");
}

// A cancelled send-later message no longer tops the conversation list.
TEST_F(UnsentTest, ACancelledScheduledMessageIsNotTheNewestInTheInbox) {
  ASSERT_OK_AND_ASSIGN(SendResult now, sam_.client->SendText("dr-rivera", "written today"));
  SendOptions later;
  later.deliver_at = absl::Now() + absl::Hours(2);
  ASSERT_OK_AND_ASSIGN(SendResult scheduled,
                       sam_.client->SendText("dr-rivera", "for tomorrow", later));
  ASSERT_OK_AND_ASSIGN(auto inbox, sam_.client->ListConversations());
  ASSERT_THAT(inbox, SizeIs(1));
  EXPECT_EQ(inbox[0].preview, "for tomorrow");

  ASSERT_OK(sam_.client->CancelScheduled(scheduled.message.id));
  ASSERT_OK_AND_ASSIGN(inbox, sam_.client->ListConversations());
  ASSERT_THAT(inbox, SizeIs(1));
  EXPECT_EQ(inbox[0].preview, "written today");
  EXPECT_EQ(inbox[0].last_activity_ms, now.message.server_time_ms);
}

}  // namespace
}  // namespace sotto
