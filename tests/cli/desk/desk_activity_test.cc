// The idle auto-lock counts only the person's actions (docs/DESK.md, "Idle
// auto-lock"): the page's own refetches, marked X-Sotto-Background: 1, and the
// desk's listener and receipts do not keep a profile open; POST /api/activity
// (a click, a key) and ordinary requests do.

#include "desk_fixture.h"

namespace sotto::desk {
namespace {

class DeskActivityTest : public DeskTest {};

const httplib::Headers kBackground = {{"X-Sotto-Background", "1"}};

// A therapist keeps writing and the page keeps refetching after each
// message, as a visible desk does: the profile still locks on time.
TEST_F(DeskActivityTest, APageThatKeepsReceivingMessagesStillLocks) {
  desk_ = StartDesk(dirs_->sub("sam"), kPassphrase, absl::Seconds(3));
  ASSERT_NE(desk_, nullptr);
  page_ = std::make_unique<Page>(desk_->port());
  ASSERT_TRUE(page_->Open(Token(*desk_)));
  // The stream on a page of its own: one httplib::Client runs one request
  // at a time, and the stream's never ends.
  Page listening(desk_->port());
  ASSERT_TRUE(listening.Open(Token(*desk_)));
  EventStream events(listening);
  ASSERT_TRUE(events.WaitOpened());
  const absl::Time start = absl::Now();
  bool locked = false;
  int refetched = 0;
  while (!locked && absl::Now() - start < absl::Seconds(30)) {
    ASSERT_OK(rivera_->SendText("sam", "are you there?").status());
    // The lock may come between one wait and the next: then no message
    // follows it, and the lock is the answer.
    const int next = events.WaitForFirst({"event: message", "event: locked"}, absl::Seconds(10));
    ASSERT_GE(next, 0) << events.text();
    if (next == 1) {
      locked = true;
      break;
    }
    httplib::Result r = page_->Get("/api/conversations/dr-rivera", kBackground);
    ASSERT_TRUE(r);
    if (r->status == 200) ++refetched;
    page_->Get("/api/conversations", kBackground);
    locked = events.WaitFor("event: locked", absl::Milliseconds(300));
  }
  EXPECT_TRUE(locked) << "still open after 30 s of background refetches";
  EXPECT_GT(refetched, 2) << "the refetches did read the conversation meanwhile";
  EXPECT_EQ(Page::Body(page_->Get("/api/state"))["state"], "locked");
  desk_->Stop();
}

// The person's clicks and keys (POST /api/activity) keep it open for as
// long as they go on; then it locks.
TEST_F(DeskActivityTest, ThePersonsActivityKeepsItOpenUntilItStops) {
  desk_ = StartDesk(dirs_->sub("sam"), kPassphrase, absl::Seconds(3));
  ASSERT_NE(desk_, nullptr);
  page_ = std::make_unique<Page>(desk_->port());
  ASSERT_TRUE(page_->Open(Token(*desk_)));
  EXPECT_EQ(Page::Body(page_->Get("/api/state"))["auto_lock_ms"], 3000);
  // The stream on a page of its own: one httplib::Client runs one request
  // at a time, and the stream's never ends.
  Page listening(desk_->port());
  ASSERT_TRUE(listening.Open(Token(*desk_)));
  EventStream events(listening);
  ASSERT_TRUE(events.WaitOpened());
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(7)) {
    httplib::Result r = page_->Post("/api/activity");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body << " after " << (absl::Now() - start);
    // Paced by the stream: a `locked` here would be the failure.
    ASSERT_FALSE(events.WaitFor("event: locked", absl::Milliseconds(500))) << events.text();
  }
  EXPECT_EQ(Page::Body(page_->Get("/api/state"))["state"], "open");
  EXPECT_TRUE(events.WaitFor("event: locked", absl::Seconds(15))) << events.text();
  httplib::Result after = page_->Post("/api/activity");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 423) << "activity does not reopen a locked profile";
  desk_->Stop();
}

TEST_F(DeskActivityTest, ActivityRefusesWhatIsNotThePersons) {
  OpenSamsDesk();
  httplib::Result background = page_->Post("/api/activity", nlohmann::json::object(), kBackground);
  ASSERT_TRUE(background);
  EXPECT_EQ(background->status, 400);
  EXPECT_NE(background->body.find("background"), std::string::npos) << background->body;
  httplib::Result get = page_->Get("/api/activity");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404) << "GET is not a route";
  httplib::Result list = page_->Post("/api/activity", nlohmann::json::array());
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 400);
  EXPECT_NE(list->body.find("JSON object"), std::string::npos) << list->body;
  httplib::Result elsewhere =
      page_->Post("/api/activity", nlohmann::json::object(), {{"Origin", "http://evil.test"}});
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 403);
  desk_->Stop();
}

}  // namespace
}  // namespace sotto::desk
