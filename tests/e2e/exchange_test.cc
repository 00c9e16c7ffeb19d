// End to end: the real sotto-server binary on a loopback port, real RocksDB,
// and two real clients (real libsignal sessions) exchanging messages.

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::Party;
using ::sotto::testing::RawConnection;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

class ExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(rivera_, RegisterTherapist(*server_, "dr-rivera"));
    ASSERT_OK_AND_ASSIGN(sam_, RegisterClient(address(), "sam", rivera_));
  }

  std::string address() const { return server_->address(); }

  // Takes every envelope out of `party`'s queue the way a network that lost
  // them would, returning them in queue order.
  std::vector<v1::Envelope> Intercept(const Party& party) {
    auto raw = RawConnection(address(), party);
    auto fetched = raw->Fetch(0, 1000);
    EXPECT_OK(fetched);
    std::vector<v1::Envelope> out(fetched->envelopes().begin(), fetched->envelopes().end());
    std::vector<uint64_t> seqs;
    for (const auto& e : out) seqs.push_back(e.seq());
    if (!seqs.empty()) {
      EXPECT_OK(raw->Ack(seqs));
    }
    return out;
  }

  // Re-sends captured ciphertexts from `sender` to `recipient` (device 1), in
  // the given order, each under a fresh message id.
  void Replay(const Party& sender, const std::string& recipient,
              const std::vector<v1::Envelope>& envelopes) {
    auto raw = RawConnection(address(), sender);
    auto bundle = raw->GetBundle(recipient);
    ASSERT_OK(bundle);
    ASSERT_EQ(bundle->devices_size(), 1);
    for (size_t i = 0; i < envelopes.size(); ++i) {
      v1::SendRequest request;
      request.set_recipient(recipient);
      request.set_message_id(absl::StrCat("replay-", i, "-", std::string(16, 'x')).substr(0, 16));
      v1::OutgoingEnvelope* out = request.add_envelopes();
      out->set_device_id(1);
      out->set_registration_id(bundle->devices(0).registration_id());
      out->set_type(envelopes[i].type());
      out->set_ciphertext(envelopes[i].ciphertext());
      auto sent = raw->Send(request);
      ASSERT_OK(sent);
      ASSERT_TRUE(sent->response.has_value());
    }
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  Party sam_;
  Party rivera_;
};

TEST_F(ExchangeTest, TwoHundredMessagesEachWayArriveInOrderExactlyOnce) {
  std::vector<std::string> expected;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 2; ++i) {
      std::string text = absl::StrCat("sam ", round, ".", i);
      ASSERT_OK(sam_.client->SendText("dr-rivera", text));
      expected.push_back(text);
    }
    ASSERT_OK_AND_ASSIGN(SyncStats at_rivera, rivera_.client->Sync());
    ASSERT_EQ(at_rivera.received, 2) << "round " << round;
    for (int i = 0; i < 2; ++i) {
      std::string text = absl::StrCat("rivera ", round, ".", i);
      ASSERT_OK(rivera_.client->SendText("sam", text));
      expected.push_back(text);
    }
    ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
    ASSERT_EQ(at_sam.received, 2) << "round " << round;
  }
  ASSERT_OK_AND_ASSIGN(auto sam_view, sam_.client->ReadConversation("dr-rivera"));
  ASSERT_OK_AND_ASSIGN(auto rivera_view, rivera_.client->ReadConversation("sam"));
  EXPECT_EQ(Texts(sam_view), expected);
  EXPECT_EQ(Texts(rivera_view), expected);
  EXPECT_TRUE(rivera_view.front().peer == "sam" && !rivera_view.front().outgoing);
  EXPECT_TRUE(sam_view.front().outgoing);
  // Nothing is left queued once both sides have synced.
  ASSERT_OK_AND_ASSIGN(SyncStats again, rivera_.client->Sync());
  EXPECT_EQ(again.received + again.duplicates + again.undecryptable, 0);
}

TEST_F(ExchangeTest, FirstContactWorksWhileTheRecipientIsOffline) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "one"));
  ASSERT_OK(sam_.client->SendText("dr-rivera", "two"));
  ASSERT_OK(sam_.client->SendText("dr-rivera", "three"));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 3);
  ASSERT_OK_AND_ASSIGN(auto conversations, rivera_.client->ListConversations());
  ASSERT_EQ(conversations.size(), 1u);
  EXPECT_EQ(conversations[0].peer, "sam");
  EXPECT_EQ(conversations[0].unread_count, 3u);
  EXPECT_EQ(conversations[0].preview, "three");
  ASSERT_OK_AND_ASSIGN(auto view, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(view), ElementsAre("one", "two", "three"));
  ASSERT_OK_AND_ASSIGN(conversations, rivera_.client->ListConversations());
  EXPECT_EQ(conversations[0].unread_count, 0u) << "reading marks the conversation read";
}

TEST_F(ExchangeTest, OutOfOrderDeliveryDecryptsEveryMessage) {
  // Establish the session both ways first, so the reordered messages are
  // ordinary (non-PreKey) messages of one chain.
  ASSERT_OK(sam_.client->SendText("dr-rivera", "hello"));
  ASSERT_OK(rivera_.client->Sync());
  ASSERT_OK(rivera_.client->SendText("sam", "hello sam"));
  ASSERT_OK(sam_.client->Sync());
  // Take in sam's delivery receipt, so that only the five texts wait.
  ASSERT_OK(rivera_.client->Sync());

  for (int i = 1; i <= 5; ++i) {
    ASSERT_OK(sam_.client->SendText("dr-rivera", absl::StrCat("m", i)));
  }
  std::vector<v1::Envelope> captured = Intercept(rivera_);
  ASSERT_EQ(captured.size(), 5u);
  Replay(sam_, "dr-rivera", {captured[4], captured[2], captured[0], captured[1], captured[3]});

  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 5);
  EXPECT_EQ(stats.undecryptable, 0);
  ASSERT_OK_AND_ASSIGN(auto view, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(view), ElementsAre("hello", "hello sam", "m5", "m3", "m1", "m2", "m4"));
}

TEST_F(ExchangeTest, RedeliveredFirstMessageIsDroppedNotShownTwice) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "only once"));
  std::vector<v1::Envelope> captured = Intercept(rivera_);
  ASSERT_EQ(captured.size(), 1u);
  EXPECT_EQ(captured[0].type(), v1::ENVELOPE_TYPE_PREKEY);
  // Delivered, then delivered again (as after a lost acknowledgement).
  Replay(sam_, "dr-rivera", {captured[0], captured[0]});

  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_EQ(stats.duplicates, 1);
  ASSERT_OK_AND_ASSIGN(auto view, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(view), ElementsAre("only once"));
  // The session still works after the duplicate.
  ASSERT_OK(rivera_.client->SendText("sam", "got it"));
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.received, 1);
}

TEST_F(ExchangeTest, GarbageCiphertextIsDroppedAndLaterMessagesStillArrive) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "before"));
  ASSERT_OK(rivera_.client->Sync());
  v1::Envelope garbage;
  garbage.set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
  garbage.set_ciphertext(std::string(120, '\x33'));
  Replay(sam_, "dr-rivera", {garbage});
  ASSERT_OK(sam_.client->SendText("dr-rivera", "after"));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_EQ(stats.undecryptable, 1);
  ASSERT_OK_AND_ASSIGN(auto view, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(view), ElementsAre("before", "after"));
}

TEST_F(ExchangeTest, SessionStartsFromSignedPreKeyWhenNoOneTimePreKeyIsOffered) {
  // Someone (here: sam's own device, playing a hungry requester) keeps asking
  // for rivera's bundle. The server stops handing out one-time prekeys — when
  // the target's fetch budget is spent, or the stock is gone — and keeps
  // serving the signed prekey.
  auto raw = RawConnection(address(), sam_);
  int fetched = 0;
  bool offered = true;
  while (offered && fetched <= 101) {
    ASSERT_OK_AND_ASSIGN(auto bundle, raw->GetBundle("dr-rivera"));
    offered = bundle.devices(0).has_one_time_prekey();
    ++fetched;
  }
  ASSERT_FALSE(offered) << "after " << fetched << " fetches a one-time prekey was still offered";
  EXPECT_GT(fetched, 1);

  ASSERT_OK(sam_.client->SendText("dr-rivera", "no one-time prekey left"));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_TRUE(stats.maintenance_error.empty()) << stats.maintenance_error;
  ASSERT_OK(rivera_.client->SendText("sam", "and a reply on the same session"));
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.received, 1);
}

TEST_F(ExchangeTest, ListenDeliversLiveMessagesAsTheyArrive) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "backlog"));
  std::vector<std::string> seen;
  // The live messages are sent once the stream has delivered the backlog:
  // they can only reach the open stream.
  absl::Notification stream_open;
  std::thread sender([&] {
    stream_open.WaitForNotification();
    for (int i = 1; i <= 3; ++i) {
      EXPECT_OK(sam_.client->SendText("dr-rivera", absl::StrCat("live ", i)));
    }
  });
  ASSERT_OK_AND_ASSIGN(SyncStats stats,
                       rivera_.client->Listen(absl::Seconds(20), [&](const Message& m) {
                         seen.push_back(m.text);
                         if (!stream_open.HasBeenNotified()) stream_open.Notify();
                         return seen.size() < 4;
                       }));
  sender.join();
  EXPECT_EQ(stats.received, 4);
  EXPECT_THAT(seen, ElementsAre("backlog", "live 1", "live 2", "live 3"));
  // All were acknowledged: nothing comes again.
  ASSERT_OK_AND_ASSIGN(SyncStats after, rivera_.client->Sync());
  EXPECT_EQ(after.received + after.duplicates, 0);
}

// Issue 21: a burst arriving on the stream (here 500 queued before the
// stream opens, then 100 live) is stored in batches (one disk sync, one Ack
// each) and still shown once each, in order, and acknowledged: a Sync after
// finds nothing.
TEST_F(ExchangeTest, ListenShowsABurstOnceInOrder) {
  std::vector<std::string> sent;
  for (int i = 0; i < 500; ++i) {
    sent.push_back(absl::StrCat("queued ", i));
    ASSERT_OK(sam_.client->SendText("dr-rivera", sent.back()));
  }
  for (int i = 0; i < 100; ++i) sent.push_back(absl::StrCat("live ", i));
  absl::Notification stream_open;
  std::thread sender([&] {
    stream_open.WaitForNotification();
    for (size_t i = 500; i < sent.size(); ++i)
      EXPECT_OK(sam_.client->SendText("dr-rivera", sent[i]));
  });
  std::vector<std::string> seen;
  ASSERT_OK_AND_ASSIGN(SyncStats stats,
                       rivera_.client->Listen(absl::Seconds(30), [&](const Message& m) {
                         seen.push_back(m.text);
                         if (!stream_open.HasBeenNotified()) stream_open.Notify();
                         return seen.size() < sent.size();
                       }));
  sender.join();
  EXPECT_EQ(stats.received, 600);
  EXPECT_EQ(seen, sent);
  ASSERT_OK_AND_ASSIGN(SyncStats after, rivera_.client->Sync());
  EXPECT_EQ(after.received + after.duplicates, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> history, rivera_.client->ReadConversation("sam"));
  std::vector<std::string> stored;
  for (const Message& m : history) {
    if (!m.outgoing) stored.push_back(m.text);
  }
  EXPECT_EQ(stored, sent);
}

// Issue 15: Listen's handlers see, in arrival order and after each is
// stored, the receipts that moved our sent message (DELIVERED, then READ)
// and then a new message.
TEST_F(ExchangeTest, ListenHandlersSeeReceiptsThenMessagesInArrivalOrder) {
  ASSERT_OK_AND_ASSIGN(SendResult sent, sam_.client->SendText("dr-rivera", "hello"));
  ASSERT_OK(rivera_.client->Sync().status());  // stored: DELIVERED goes back
  ASSERT_OK(rivera_.client->ReadConversation("sam").status());
  ASSERT_OK(rivera_.client->Sync().status());  // READ goes back
  ASSERT_OK(rivera_.client->SendText("sam", "welcome").status());

  std::vector<std::string> seen;
  Client::ListenHandlers handlers;
  handlers.on_receipt = [&](const ReceiptEvent& r) {
    EXPECT_EQ(r.message.state, r.state);
    EXPECT_EQ(r.peer, "dr-rivera");
    seen.push_back(absl::StrCat("receipt ", r.message_id == sent.message.id ? "hello " : "other ",
                                static_cast<int>(r.state)));
    return true;
  };
  handlers.on_message = [&](const Message& m) {
    seen.push_back("message " + m.text);
    return false;
  };
  ASSERT_OK_AND_ASSIGN(SyncStats stats, sam_.client->Listen(absl::Seconds(20), handlers));
  EXPECT_EQ(stats.received, 1);
  EXPECT_THAT(
      seen, ElementsAre(absl::StrCat("receipt hello ", static_cast<int>(DeliveryState::kDelivered)),
                        absl::StrCat("receipt hello ", static_cast<int>(DeliveryState::kRead)),
                        "message welcome"));
  // Already stored when shown.
  ASSERT_OK_AND_ASSIGN(std::vector<Message> history, sam_.client->ReadConversation("dr-rivera"));
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().state, DeliveryState::kRead);
}

TEST_F(ExchangeTest, ListenReturnsAfterIdleTimeout) {
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(
      SyncStats stats,
      rivera_.client->Listen(absl::Milliseconds(300), [](const Message&) { return true; }));
  EXPECT_EQ(stats.received, 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(ExchangeTest, BadSendsSayWhatWasWrong) {
  // Nobody can tell an unknown handle from someone they are not linked
  // with: both are "no care link" (issue 19).
  EXPECT_THAT(sam_.client->SendText("nobody-here", "hi"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("nobody-here")));
  EXPECT_THAT(rivera_.client->SendText("nobody-here", "hi"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no care link")));
  EXPECT_THAT(sam_.client->SendText("dr-rivera", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sam_.client->SendText("dr-rivera", std::string(5000, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sam_.client->SendText("Bad Handle", "hi"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Bad Handle")));
  EXPECT_THAT(sam_.client->ReadConversation("dr-rivera"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExchangeTest, RegisteringATakenHandleFailsAndLeavesTheOwnerWorking) {
  EXPECT_THAT(RegisterClient(address(), "sam", rivera_),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK(sam_.client->SendText("dr-rivera", "still me"));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
}

TEST_F(ExchangeTest, ServerOutageIsReportedAsUnavailableAndNothingIsLost) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "before the outage"));
  ASSERT_OK(server_->Stop());
  EXPECT_THAT(rivera_.client->Sync(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "during the outage"),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(server_->Restart());
  // The queued envelope survived; the failed send left nothing behind on
  // the server, and is kept on sam's device, marked not sent (issue 14:
  // nothing a person wrote may be lost; tests/e2e/unsent_test.cc has the rest).
  auto raw = RawConnection(server_->address(), rivera_);
  ASSERT_OK_AND_ASSIGN(auto queued, raw->Fetch(0, 100));
  EXPECT_EQ(queued.envelopes_size(), 1);
  ASSERT_OK_AND_ASSIGN(auto history, sam_.client->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(history), ElementsAre("before the outage", "during the outage"));
  EXPECT_EQ(history[1].state, DeliveryState::kNotSent);
}

}  // namespace
}  // namespace sotto
