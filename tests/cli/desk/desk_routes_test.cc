// The rest of `sotto desk`'s API against a real sotto-server: a therapist's
// desk (invites with their QR code, the policy editor and its preview, the
// queue and its live `queue` event, snooze and close) and a client's
// (drafts, send later, the scheduled list and cancel, the safety number).

#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "desk_fixture.h"
#include "gmock/gmock.h"

namespace sotto::desk {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// A policy always open with a reply window of `minutes`: a message sent now
// is due exactly `minutes` later.
json AlwaysOpenPolicy(int minutes) {
  return {{"time_zone", "UTC"},
          {"working_days", {1, 2, 3, 4, 5, 6, 7}},
          {"day_start", "00:00"},
          {"day_end", "24:00"},
          {"reply_window_minutes", minutes}};
}

class DeskRoutesTest : public DeskTest {
 protected:
  // A therapist's profile `handle` (registered and closed) and a desk on it.
  void OpenTherapistDesk(const std::string& handle) {
    auto code = testing::IssueEnrolmentCode(server_->data_dir(), handle);
    ASSERT_TRUE(code.ok()) << code.status();
    RegisterOptions options = Options(handle);
    options.role = Role::kTherapist;
    options.enrolment_code = *code;
    ASSERT_OK(Client::Register(options).status());
    desk_ = StartDesk(dirs_->sub(handle));
    ASSERT_NE(desk_, nullptr);
    page_ = std::make_unique<Page>(desk_->port());
    ASSERT_TRUE(page_->Open(Token(*desk_)));
  }
};

TEST_F(DeskRoutesTest, TherapistInvitesSetsPolicyAndWorksTheQueue) {
  OpenTherapistDesk("dr-lee");
  // Always open, a 60-minute window: the preview is simply now + 1 h.
  const json policy = AlwaysOpenPolicy(60);
  const int64_t before = NowMs();
  httplib::Result preview = page_->Post("/api/policy/preview", policy);
  ASSERT_TRUE(preview);
  ASSERT_EQ(preview->status, 200) << preview->body;
  const int64_t due = Page::Body(preview)["due_ms"];
  EXPECT_GE(due, before + 60 * 60 * 1000);
  EXPECT_LE(due, NowMs() + 60 * 60 * 1000);
  ASSERT_EQ(page_->Put("/api/policy", policy)->status, 200);
  json shown = Page::Body(page_->Get("/api/policy"));
  ASSERT_EQ(shown["policies"].size(), 1u) << shown;
  EXPECT_EQ(shown["policies"][0]["reply_window_minutes"], 60);
  EXPECT_EQ(shown["policies"][0]["time_zone"], "UTC");
  httplib::Result bad = page_->Put("/api/policy", {{"time_zone", "Mars/Olympus"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("Mars/Olympus"));

  httplib::Result invite = page_->Post("/api/invites", {{"valid_for_hours", 24}});
  ASSERT_TRUE(invite);
  ASSERT_EQ(invite->status, 200) << invite->body;
  const json made = Page::Body(invite);
  EXPECT_THAT(made["qr_svg"].get<std::string>(), StartsWith("<svg"));
  EXPECT_GT(made["expires_at_ms"].get<int64_t>(), NowMs());

  // A client joins with it and writes; the therapist's event stream says
  // the queue changed, and the queue shows them waiting.
  RegisterOptions kim = Options("kim");
  kim.invite_code = made["code"];
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> kim_client, Client::Register(kim));
  EventStream events(*page_);
  ASSERT_TRUE(events.WaitOpened());
  ASSERT_OK(kim_client->SendText("dr-lee", "hello").status());
  EXPECT_TRUE(events.WaitFor("event: queue")) << events.text();
  desk_->Stop();
}

TEST_F(DeskRoutesTest, QueueSnoozeAndClose) {
  OpenTherapistDesk("dr-kay");
  json made = Page::Body(page_->Post("/api/invites"));
  RegisterOptions ash = Options("ash");
  ash.invite_code = made["code"];
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> ash_client, Client::Register(ash));
  ASSERT_OK(ash_client->SendText("dr-kay", "are you there?").status());
  json queue;
  for (int i = 0; i < 50; ++i) {
    queue = Page::Body(page_->Get("/api/queue"));
    if (!queue["entries"].empty()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(queue["entries"].size(), 1u) << queue;
  EXPECT_EQ(queue["entries"][0]["client"], "ash");
  EXPECT_EQ(queue["entries"][0]["state"], "waiting");
  ASSERT_EQ(page_->Post("/api/queue/ash/snooze", {{"until_ms", NowMs() + 3600 * 1000}})->status,
            200);
  EXPECT_EQ(Page::Body(page_->Get("/api/queue?all=1"))["entries"][0]["state"], "snoozed");
  EXPECT_EQ(page_->Post("/api/queue/ash/snooze", {{"until_ms", NowMs() - 1000}})->status, 400);
  ASSERT_EQ(page_->Post("/api/queue/ash/close")->status, 200);
  EXPECT_EQ(Page::Body(page_->Get("/api/queue?all=1"))["entries"][0]["state"], "closed");
}

TEST_F(DeskRoutesTest, AClientSeesTheDueTimeBeforeSendingButCannotSetAPolicy) {
  OpenSamsDesk();
  // The therapist's published policy, as the compose screen sends it.
  const json policy = AlwaysOpenPolicy(90);
  const int64_t before = NowMs();
  httplib::Result preview = page_->Post("/api/policy/preview", policy);
  ASSERT_TRUE(preview);
  ASSERT_EQ(preview->status, 200) << preview->body;
  const int64_t due = Page::Body(preview)["due_ms"];
  EXPECT_GE(due, before + 90 * 60 * 1000);
  EXPECT_LE(due, NowMs() + 90 * 60 * 1000);
  httplib::Result set = page_->Put("/api/policy", policy);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 403) << set->body;
}

TEST_F(DeskRoutesTest, DraftsAreKeptAndGoWithTheSend) {
  OpenSamsDesk();
  httplib::Result saved =
      page_->Put("/api/drafts/0123456789abcdef", {{"to", "dr-rivera"},
                                                  {"kind", "letter"},
                                                  {"subject", "Tonight"},
                                                  {"body", "I could not sleep"}});
  ASSERT_TRUE(saved);
  ASSERT_EQ(saved->status, 200) << saved->body;
  EXPECT_EQ(Page::Body(saved)["id"], "0123456789abcdef");
  EXPECT_GT(Page::Body(saved)["updated_ms"].get<int64_t>(), 0);
  json drafts = Page::Body(page_->Get("/api/drafts"));
  ASSERT_EQ(drafts["drafts"].size(), 1u) << drafts;
  EXPECT_EQ(drafts["drafts"][0]["body"], "I could not sleep");
  EXPECT_EQ(drafts["drafts"][0]["kind"], "letter");
  // Sending it with its draft id deletes the draft.
  ASSERT_EQ(page_
                ->Post("/api/letter", {{"to", "dr-rivera"},
                                       {"subject", "Tonight"},
                                       {"body", "I could not sleep"},
                                       {"draft_id", "0123456789abcdef"}})
                ->status,
            200);
  EXPECT_TRUE(Page::Body(page_->Get("/api/drafts"))["drafts"].empty());
  EXPECT_EQ(page_->http().Delete("/api/drafts/0123456789abcdef", page_->Headers())->status, 404);
}

TEST_F(DeskRoutesTest, SendLaterIsListedAndCancelled) {
  OpenSamsDesk();
  const int64_t at = NowMs() + 3 * 3600 * 1000;
  httplib::Result sent =
      page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "later"}, {"at_ms", at}});
  ASSERT_TRUE(sent);
  ASSERT_EQ(sent->status, 200) << sent->body;
  const std::string id = Page::Body(sent)["message"]["id"];
  EXPECT_EQ(Page::Body(sent)["message"]["state"], "scheduled");
  json scheduled = Page::Body(page_->Get("/api/scheduled"));
  ASSERT_EQ(scheduled["messages"].size(), 1u) << scheduled;
  EXPECT_EQ(scheduled["messages"][0]["id"], id);
  ASSERT_EQ(page_->Post("/api/cancel", {{"id", id}})->status, 200);
  EXPECT_TRUE(Page::Body(page_->Get("/api/scheduled"))["messages"].empty());
  EXPECT_EQ(page_->Post("/api/cancel", {{"id", id}})->status, 404);
}

TEST_F(DeskRoutesTest, SafetyNumberComesWithItsQrCode) {
  OpenSamsDesk();
  // A key is known once a message went (each test may run alone).
  ASSERT_EQ(page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "hello"}})->status, 200);
  httplib::Result number = page_->Get("/api/safety-number/dr-rivera");
  ASSERT_TRUE(number);
  ASSERT_EQ(number->status, 200) << number->body;
  const json j = Page::Body(number);
  EXPECT_EQ(j["digits"].get<std::string>().size(), 60u);
  EXPECT_THAT(j["qr_svg"].get<std::string>(), StartsWith("<svg"));
  EXPECT_EQ(page_->Post("/api/safety-number/dr-rivera/verify")->status, 200);
  EXPECT_EQ(Page::Body(page_->Get("/api/safety-number/dr-rivera"))["verified"], true);
  EXPECT_EQ(page_->Get("/api/safety-number/nobody-here")->status, 404);
}

}  // namespace
}  // namespace sotto::desk
