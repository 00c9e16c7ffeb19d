// `sotto desk`'s API over a real profile and a real sotto-server: the
// setup / locked / open states, sending and reading, and live events from a
// message another profile sends.

#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "desk_fixture.h"
#include "gmock/gmock.h"

namespace sotto::desk {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class DeskApiTest : public DeskTest {};

TEST_F(DeskApiTest, StartsLockedWithoutPassphraseAndUnlocksFromThePage) {
  desk_ = StartDesk(dirs_->sub("sam"), /*passphrase=*/"");
  ASSERT_NE(desk_, nullptr);
  Page page(desk_->port());
  ASSERT_TRUE(page.Open(Token(*desk_)));
  json state = Page::Body(page.Get("/api/state"));
  EXPECT_EQ(state["state"], "locked");
  httplib::Result locked = page.Get("/api/conversations");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->status, 423);
  EXPECT_EQ(Page::Body(locked)["locked"], true);

  httplib::Result wrong = page.Post("/api/unlock", {{"passphrase", "not it"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(Page::Body(wrong)["error"], "wrong passphrase");
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["state"], "locked");

  httplib::Result right = page.Post("/api/unlock", {{"passphrase", kPassphrase}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  state = Page::Body(right);
  EXPECT_EQ(state["state"], "open");
  EXPECT_EQ(state["handle"], "sam");
  EXPECT_EQ(state["role"], "client");
  EXPECT_EQ(state["auto_lock_minutes"], 15);
  EXPECT_EQ(page.Get("/api/conversations")->status, 200);
}

TEST_F(DeskApiTest, LockNowLocksTheApiAndTellsTheEventStream) {
  OpenSamsDesk();
  Page listener(desk_->port());
  ASSERT_TRUE(listener.Open(Token(*desk_)));
  EventStream events(listener);
  ASSERT_TRUE(events.WaitOpened());
  httplib::Result r = page_->Post("/api/lock");
  ASSERT_TRUE(r);
  EXPECT_EQ(Page::Body(r)["state"], "locked");
  EXPECT_TRUE(events.WaitFor("event: locked", absl::Seconds(10))) << events.text();
  EXPECT_EQ(page_->Get("/api/conversations")->status, 423);
  EXPECT_EQ(page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "hi"}})->status, 423);
  desk_->Stop();
}

TEST_F(DeskApiTest, MessageFromAnotherProfileAppearsOnTheEventStream) {
  OpenSamsDesk();
  const std::string text = "live " + std::to_string(absl::ToUnixNanos(absl::Now()));
  EventStream events(*page_);
  ASSERT_TRUE(events.WaitOpened());
  ASSERT_OK(rivera_->SendText("sam", text).status());
  EXPECT_TRUE(events.WaitFor(text)) << events.text();
  EXPECT_THAT(events.text(), HasSubstr("event: message\ndata: {"));
  desk_->Stop();
  // And it is in the conversation the page reads.
}

TEST_F(DeskApiTest, LiveEventsComeBackAfterTheServerRestarts) {
  OpenSamsDesk();
  const std::string text = "after restart " + std::to_string(absl::ToUnixNanos(absl::Now()));
  EventStream events(*page_);
  ASSERT_TRUE(events.WaitOpened());
  // The desk's Listen dies with the server and is started again (backoff
  // from 1 s) once the server is back on the same address.
  server_->Kill();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_OK(server_->Restart(/*same_address=*/true));
  // Rivera's own channel may still be in gRPC's reconnect backoff from the
  // kill: its send then fails UNAVAILABLE at once (kept as not sent, it goes
  // out with the next try; the stream needs the text once).
  absl::Status sent;
  for (int i = 0; i < 40; ++i) {
    sent = rivera_->SendText("sam", text).status();
    if (!absl::IsUnavailable(sent)) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_OK(sent);
  EXPECT_TRUE(events.WaitFor(text, absl::Seconds(30))) << events.text();
  desk_->Stop();
}

TEST_F(DeskApiTest, SendsAndReadsTheConversation) {
  OpenSamsDesk();
  httplib::Result sent =
      page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "<script>x</script>"}});
  ASSERT_TRUE(sent);
  ASSERT_EQ(sent->status, 200) << sent->body;
  json result = Page::Body(sent);
  EXPECT_EQ(result["message"]["text"], "<script>x</script>");
  EXPECT_EQ(result["message"]["outgoing"], true);
  EXPECT_TRUE(result.contains("expectation"));
  httplib::Result read = page_->Get("/api/conversations/dr-rivera");
  ASSERT_TRUE(read);
  json conversation = Page::Body(read);
  EXPECT_EQ(conversation["peer"], "dr-rivera");
  ASSERT_FALSE(conversation["messages"].empty());
  EXPECT_EQ(conversation["messages"].back()["text"], "<script>x</script>");
  // Bad input names what was wrong.
  httplib::Result bad = page_->Post("/api/send", {{"to", "dr-rivera"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(Page::Body(bad)["error"].get<std::string>(), HasSubstr("\"text\""));
}

// What the page reads shows as "read" at the sender without this desk doing
// anything more: no message arrives here afterwards to carry the receipt
// out with a Listen batch (issue 18).
TEST_F(DeskApiTest, ReadingAConversationSendsTheReadReceiptAtOnce) {
  OpenSamsDesk();
  const std::string text = "read me " + std::to_string(absl::ToUnixNanos(absl::Now()));
  ASSERT_OK_AND_ASSIGN(SendResult sent, rivera_->SendText("sam", text));
  auto rivera_sees = [&](DeliveryState want) {
    DeliveryState state = DeliveryState::kSent;
    for (int i = 0; i < 100 && state != want; ++i) {
      EXPECT_OK(rivera_->Sync().status());
      auto mine = rivera_->ReadConversation("sam");
      EXPECT_OK(mine.status());
      if (!mine.ok()) break;
      for (const Message& m : *mine) {
        if (m.id == sent.message.id) state = m.state;
      }
      if (state != want) absl::SleepFor(absl::Milliseconds(100));
    }
    return state;
  };
  // The desk's Listen stores it and sends its delivery receipt (the Listen
  // batch's flush); only then does the page read the conversation, so that
  // flush cannot be what carries the read receipt.
  ASSERT_EQ(rivera_sees(DeliveryState::kDelivered), DeliveryState::kDelivered);
  json read = Page::Body(page_->Get("/api/conversations/dr-rivera"));
  bool shown = false;
  for (const json& m : read["messages"]) shown = shown || m["text"] == text;
  ASSERT_TRUE(shown) << read;
  const DeliveryState state = rivera_sees(DeliveryState::kRead);
  EXPECT_EQ(state, DeliveryState::kRead) << "the read receipt did not leave sam's desk";
}

// The Client's own idle auto-lock reaches the page: its event stream hears
// `locked` and the API answers locked, with nobody calling anything.
TEST_F(DeskApiTest, IdleAutoLockLocksThePageAndTellsTheEventStream) {
  desk_ = StartDesk(dirs_->sub("sam"), kPassphrase, absl::Seconds(2));
  ASSERT_NE(desk_, nullptr);
  page_ = std::make_unique<Page>(desk_->port());
  ASSERT_TRUE(page_->Open(Token(*desk_)));
  EventStream events(*page_);
  ASSERT_TRUE(events.WaitOpened());
  // GET /api/state does not count as use: asking does not keep it open.
  for (int i = 0; i < 5; ++i) page_->Get("/api/state");
  EXPECT_TRUE(events.WaitFor("event: locked", absl::Seconds(15))) << events.text();
  EXPECT_EQ(Page::Body(page_->Get("/api/state"))["state"], "locked");
  httplib::Result locked = page_->Get("/api/conversations/dr-rivera");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->status, 423);
  desk_->Stop();
}

TEST_F(DeskApiTest, SetupJoinsWithAnInvite) {
  testing::TempDir fresh;
  desk_ = StartDesk(fresh.sub("profile"), /*passphrase=*/"");
  ASSERT_NE(desk_, nullptr);
  Page page(desk_->port());
  ASSERT_TRUE(page.Open(Token(*desk_)));
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["state"], "setup");
  // Nothing to read yet: 409 naming what to do (not 423: nothing is locked).
  httplib::Result early = page.Get("/api/conversations");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 409);
  EXPECT_THAT(early->body, HasSubstr("join with an invite"));
  ASSERT_OK_AND_ASSIGN(Invite invite, rivera_->CreateInvite());
  httplib::Result r =
      page.Post("/api/setup", {{"server", server_->address()},
                               {"handle", "robin"},
                               {"passphrase", "a long enough passphrase for robin 7"},
                               {"invite_code", invite.code}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Page::Body(r)["state"], "open");
  EXPECT_EQ(Page::Body(r)["handle"], "robin");
  json links = Page::Body(page.Get("/api/links"));
  ASSERT_EQ(links["links"].size(), 1u) << links;
  EXPECT_EQ(links["links"][0]["peer"], "dr-rivera");
  // Once set up, setup is refused.
  EXPECT_EQ(page.Post("/api/setup", {{"server", server_->address()},
                                     {"handle", "robin2"},
                                     {"passphrase", "x"},
                                     {"invite_code", invite.code}})
                ->status,
            409);
}

}  // namespace
}  // namespace sotto::desk
