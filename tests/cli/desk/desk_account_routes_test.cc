// The desk's routes for what the CLI already did and the page could not:
// retry and discard a message that was not sent, send to the care team, end
// a link, linked devices (list, remove, link a new one, join as one in
// setup), backups and the clinical record (docs/DESK.md). Each with its
// refusals.

#include <filesystem>
#include <fstream>
#include <string>

#include "desk_fixture.h"
#include "gmock/gmock.h"
#include "testing/files.h"

namespace sotto::desk {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

class DeskAccountRoutesTest : public DeskTest {
 protected:
  // A new client of dr-rivera with a profile of its own (so that what a
  // test changes — devices, links — stays with it).
  static std::string NewClient(const std::string& handle) {
    auto invite = rivera_->CreateInvite();
    EXPECT_TRUE(invite.ok()) << invite.status();
    RegisterOptions o = Options(handle);
    o.invite_code = invite.ok() ? invite->code : "";
    auto made = Client::Register(o);
    EXPECT_TRUE(made.ok()) << made.status();
    return o.profile_dir;  // the Client closes here: the desk owns it next
  }

  void OpenDesk(const std::string& profile_dir) {
    desk_ = StartDesk(profile_dir);
    ASSERT_NE(desk_, nullptr);
    page_ = std::make_unique<Page>(desk_->port());
    ASSERT_TRUE(page_->Open(Token(*desk_)));
  }

  httplib::Result Delete(Page& page, const std::string& path) {
    return page.http().Delete(path.c_str(), page.Headers());
  }
};

int Status(const httplib::Result& r) { return r ? r->status : -1; }

// The newest outgoing message of `conversation` (read --json shape).
json Newest(const json& conversation) {
  const json& messages = conversation["messages"];
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if ((*it)["outgoing"] == true) return *it;
  }
  return nullptr;
}

TEST_F(DeskAccountRoutesTest, SendToTheCareTeamAndEndALink) {
  OpenDesk(NewClient("kit"));
  httplib::Result team = page_->Post("/api/send-team", {{"text", "to all of you"}});
  ASSERT_EQ(Status(team), 200) << team->body;
  json results = Page::Body(team)["results"];
  ASSERT_EQ(results.size(), 1u) << results;
  EXPECT_EQ(results[0]["message"]["peer"], "dr-rivera");
  EXPECT_EQ(results[0]["message"]["text"], "to all of you");
  httplib::Result no_text = page_->Post("/api/send-team", {{"txt", "typo"}});
  EXPECT_EQ(Status(no_text), 400);
  EXPECT_THAT(no_text->body, HasSubstr("\\\"text\\\" is missing"));
  EXPECT_EQ(Status(page_->Get("/api/send-team")), 404);

  httplib::Result no_peer = page_->Post("/api/unlink", {{"who", "dr-rivera"}});
  EXPECT_EQ(Status(no_peer), 400);
  EXPECT_THAT(no_peer->body, HasSubstr("peer"));
  EXPECT_EQ(Status(page_->Post("/api/unlink", {{"peer", 7}})), 400);
  EXPECT_EQ(Status(page_->Post("/api/unlink", {{"peer", "nobody-here"}})), 404);
  EXPECT_EQ(Status(page_->Get("/api/unlink")), 404);
  EXPECT_EQ(
      Status(page_->Post("/api/unlink", {{"peer", "dr-rivera"}}, {{"Origin", "http://evil.test"}})),
      403);
  EXPECT_EQ(Page::Body(page_->Get("/api/links"))["links"][0]["active"], true)
      << "refused: unchanged";
  httplib::Result ended = page_->Post("/api/unlink", {{"peer", "dr-rivera"}});
  ASSERT_EQ(Status(ended), 200) << ended->body;
  json links = Page::Body(page_->Get("/api/links"))["links"];
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0]["active"], false) << links;
  // No one left to write to.
  EXPECT_NE(Status(page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "still there?"}})), 200);
  desk_->Stop();
}

// Sam's desk links a new device while another desk, in setup, joins with
// the code it showed; then the devices list, and removing one.
TEST_F(DeskAccountRoutesTest, LinkANewDeviceThatJoinsFromItsOwnDesk) {
  OpenDesk(NewClient("lee"));
  // The stream on a page of its own (one httplib::Client, one request at a time).
  Page listening(desk_->port());
  ASSERT_TRUE(listening.Open(Token(*desk_)));
  EventStream events(listening);
  ASSERT_TRUE(events.WaitOpened());
  json devices = Page::Body(page_->Get("/api/devices"))["devices"];
  ASSERT_EQ(devices.size(), 1u) << devices;
  EXPECT_EQ(devices[0]["this_device"], true);
  const int own_id = devices[0]["device_id"];

  httplib::Result started = page_->Post("/api/devices/link");
  ASSERT_EQ(Status(started), 200) << started->body;
  ASSERT_TRUE(events.WaitFor("\"stage\":\"waiting\"")) << events.text();
  EXPECT_EQ(Status(page_->Post("/api/devices/link")), 409) << "one linking at a time";
  json link = Page::Body(page_->Get("/api/devices/link"));
  ASSERT_EQ(link["stage"], "waiting") << link;
  const std::string code = link["code"];
  EXPECT_THAT(link["qr_svg"].get<std::string>(), HasSubstr("<svg"));

  testing::TempDir fresh;
  std::unique_ptr<DeskServer> laptop = StartDesk(fresh.sub("laptop"), "");
  ASSERT_NE(laptop, nullptr);
  Page other(laptop->port());
  other.http().set_read_timeout(60, 0);
  ASSERT_TRUE(other.Open(Token(*laptop)));
  httplib::Result no_code = other.Post(
      "/api/setup/join", {{"server", server_->address()}, {"passphrase", "x y z w v u t s"}});
  EXPECT_EQ(Status(no_code), 400);
  EXPECT_THAT(no_code->body, HasSubstr("code"));
  httplib::Result joined =
      other.Post("/api/setup/join", {{"server", server_->address()},
                                     {"code", code},
                                     {"device_name", "office laptop"},
                                     {"passphrase", "a long enough passphrase for lee 7"}});
  ASSERT_EQ(Status(joined), 200) << joined->body;
  EXPECT_EQ(Page::Body(other.Get("/api/state"))["state"], "open");
  EXPECT_EQ(Page::Body(other.Get("/api/state"))["handle"], "lee");
  ASSERT_TRUE(events.WaitFor("\"stage\":\"sent\"")) << events.text();
  EXPECT_EQ(Page::Body(page_->Get("/api/devices/link"))["code"], nullptr) << "dropped once used";
  // Joining again once set up is refused.
  EXPECT_EQ(Status(other.Post("/api/setup/join", {{"server", server_->address()},
                                                  {"code", code},
                                                  {"passphrase", "another passphrase 8"}})),
            409);

  devices = Page::Body(page_->Get("/api/devices"))["devices"];
  ASSERT_EQ(devices.size(), 2u) << devices;
  EXPECT_EQ(devices[1]["name"], "office laptop");
  EXPECT_EQ(devices[1]["this_device"], false);
  EXPECT_NE(devices[1]["linked_at_ms"], nullptr);
  const int laptop_id = devices[1]["device_id"];

  EXPECT_EQ(Status(Delete(*page_, "/api/devices/" + std::to_string(own_id))), 409)
      << "not this desk's own device";
  httplib::Result bad = Delete(*page_, "/api/devices/laptop");
  EXPECT_EQ(Status(bad), 400);
  EXPECT_THAT(bad->body, HasSubstr("device id"));
  EXPECT_EQ(Status(Delete(*page_, "/api/devices/999")), 404);
  EXPECT_EQ(Status(page_->http().Delete(("/api/devices/" + std::to_string(laptop_id)).c_str(),
                                        page_->Headers({{"Origin", "http://evil.test"}}))),
            403);
  httplib::Result removed = Delete(*page_, "/api/devices/" + std::to_string(laptop_id));
  ASSERT_EQ(Status(removed), 200) << removed->body;
  EXPECT_EQ(Page::Body(page_->Get("/api/devices"))["devices"].size(), 1u);
  laptop->Stop();
  desk_->Stop();
}

TEST_F(DeskAccountRoutesTest, CancellingALinkingEndsIt) {
  OpenDesk(NewClient("max"));
  // The stream on a page of its own (one httplib::Client, one request at a time).
  Page listening(desk_->port());
  ASSERT_TRUE(listening.Open(Token(*desk_)));
  EventStream events(listening);
  ASSERT_TRUE(events.WaitOpened());
  ASSERT_EQ(Status(page_->Post("/api/devices/link")), 200);
  ASSERT_TRUE(events.WaitFor("\"stage\":\"waiting\"")) << events.text();
  ASSERT_EQ(Status(page_->Post("/api/devices/link/cancel")), 200);
  ASSERT_TRUE(events.WaitFor("\"stage\":\"cancelled\"")) << events.text();
  json link = Page::Body(page_->Get("/api/devices/link"));
  EXPECT_EQ(link["stage"], "cancelled");
  EXPECT_EQ(link["code"], nullptr);
  // A new one may start after.
  ASSERT_EQ(Status(page_->Post("/api/devices/link")), 200);
  ASSERT_TRUE(events.WaitFor("\"stage\":\"waiting\"")) << events.text();
  desk_->Stop();  // cancels the running one
}

TEST_F(DeskAccountRoutesTest, BackupsAutomaticNowAndANewRecoveryKey) {
  OpenDesk(NewClient("ash"));
  testing::TempDir where;
  const std::string dir = where.sub("auto");
  EXPECT_EQ(Page::Body(page_->Get("/api/backup"))["enabled"], false);

  httplib::Result relative = page_->Put("/api/backup", {{"dir", "backups"}});
  EXPECT_EQ(Status(relative), 400);
  EXPECT_THAT(relative->body, HasSubstr("\\\"dir\\\" must be an absolute path"));
  httplib::Result keep0 = page_->Put("/api/backup", {{"dir", dir}, {"keep", 0}});
  EXPECT_EQ(Status(keep0), 400);
  EXPECT_THAT(keep0->body, HasSubstr("keep"));
  httplib::Result every = page_->Put("/api/backup", {{"dir", dir}, {"every_minutes", "daily"}});
  EXPECT_EQ(Status(every), 400);
  EXPECT_THAT(every->body, HasSubstr("every_minutes"));
  EXPECT_EQ(Page::Body(page_->Get("/api/backup"))["enabled"], false) << "refused: still off";

  httplib::Result on =
      page_->Put("/api/backup", {{"dir", dir}, {"every_minutes", 60}, {"keep", 3}});
  ASSERT_EQ(Status(on), 200) << on->body;
  json setup = Page::Body(on);
  const std::string key = setup["recovery_key"];
  EXPECT_EQ(key.size(), 49u) << "40 digits in ten groups: " << key;
  EXPECT_THAT(setup["advice"].get<std::string>(), HasSubstr("Write it down"));
  ASSERT_TRUE(setup["written"].is_string()) << setup;
  EXPECT_TRUE(std::filesystem::exists(setup["written"].get<std::string>()));
  json status = Page::Body(page_->Get("/api/backup"));
  EXPECT_EQ(status["enabled"], true);
  EXPECT_EQ(status["dir"], dir);
  EXPECT_EQ(status["every_minutes"], 60);
  EXPECT_EQ(status["keep"], 3);
  EXPECT_TRUE(status["last_backup_ms"].is_number()) << status;
  EXPECT_EQ(status["last_error"], nullptr);
  EXPECT_EQ(status.dump().find(key), std::string::npos) << "the key is never shown again";

  json renewed = Page::Body(page_->Post("/api/backup/recovery-key"));
  ASSERT_TRUE(renewed["recovery_key"].is_string()) << renewed;
  EXPECT_NE(renewed["recovery_key"], key);

  const std::string file = where.sub("now.sottobackup");
  httplib::Result now = page_->Post("/api/backup/now", {{"path", file}});
  ASSERT_EQ(Status(now), 200) << now->body;
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(Page::Body(now)["recovery_key"].get<std::string>().size(), 49u);
  EXPECT_EQ(Status(page_->Post("/api/backup/now", {{"path", file}})), 409) << "never overwrites";
  httplib::Result no_path = page_->Post("/api/backup/now", {{"file", file}});
  EXPECT_EQ(Status(no_path), 400);
  EXPECT_THAT(no_path->body, HasSubstr("\\\"path\\\" is missing"));
  EXPECT_EQ(Status(page_->Get("/api/backup/now")), 404);
  EXPECT_EQ(Status(page_->Post("/api/backup/now", {{"path", where.sub("x")}},
                               {{"Origin", "http://evil.test"}})),
            403);
  EXPECT_FALSE(std::filesystem::exists(where.sub("x")));

  ASSERT_EQ(Status(Delete(*page_, "/api/backup")), 200);
  EXPECT_EQ(Page::Body(page_->Get("/api/backup"))["enabled"], false);
  EXPECT_EQ(Status(page_->Post("/api/backup/recovery-key")), 409) << "off: no key to renew";
  desk_->Stop();

  // The backup comes back on a desk in setup (as `sotto restore`).
  const std::string now_key = Page::Body(now)["recovery_key"];
  std::unique_ptr<DeskServer> fresh = StartDesk(where.sub("restored"), "");
  ASSERT_NE(fresh, nullptr);
  Page other(fresh->port());
  ASSERT_TRUE(other.Open(Token(*fresh)));
  httplib::Result relative_file =
      other.Post("/api/setup/restore", {{"backup_path", "now.sottobackup"},
                                        {"recovery_key", now_key},
                                        {"passphrase", "p q r s t u"}});
  EXPECT_EQ(Status(relative_file), 400);
  EXPECT_THAT(relative_file->body, HasSubstr("backup_path"));
  httplib::Result no_key = other.Post(
      "/api/setup/restore", {{"backup_path", file}, {"passphrase", "a long passphrase for ash 9"}});
  EXPECT_EQ(Status(no_key), 400);
  EXPECT_THAT(no_key->body, HasSubstr("recovery_key"));
  httplib::Result wrong_key =
      other.Post("/api/setup/restore", {{"backup_path", file},
                                        {"recovery_key", key},  // the automatic backups' key
                                        {"passphrase", "a long passphrase for ash 9"}});
  EXPECT_NE(Status(wrong_key), 200);
  EXPECT_EQ(Page::Body(other.Get("/api/state"))["state"], "setup");
  httplib::Result restored =
      other.Post("/api/setup/restore", {{"backup_path", file},
                                        {"recovery_key", now_key},
                                        {"passphrase", "a long passphrase for ash 9"}});
  ASSERT_EQ(Status(restored), 200) << restored->body;
  json state = Page::Body(other.Get("/api/state"));
  EXPECT_EQ(state["state"], "open");
  EXPECT_EQ(state["handle"], "ash");
  fresh->Stop();
}

TEST_F(DeskAccountRoutesTest, RetrySendsWhatWasNotSentAndCancelDiscardsIt) {
  OpenDesk(NewClient("quinn"));
  server_->Kill();
  httplib::Result down = page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "first try"}});
  EXPECT_EQ(Status(down), 503) << (down ? down->body : "");
  httplib::Result discard =
      page_->Post("/api/send", {{"to", "dr-rivera"}, {"text", "to be discarded"}});
  EXPECT_EQ(Status(discard), 503);
  json conversation = Page::Body(page_->Get("/api/conversations/dr-rivera"));
  json unsent = Newest(conversation);
  ASSERT_EQ(unsent["text"], "to be discarded") << conversation;
  EXPECT_EQ(unsent["state"], "not_sent");
  // Discard is the cancel route: nothing goes to the server.
  httplib::Result cancelled = page_->Post("/api/cancel", {{"id", unsent["id"]}});
  ASSERT_EQ(Status(cancelled), 200) << cancelled->body;
  // Retry while the server is still down: it says so, and keeps the message.
  httplib::Result still_down = page_->Post("/api/retry");
  EXPECT_EQ(Status(still_down), 503) << (still_down ? still_down->body : "");
  ASSERT_OK(server_->Restart(/*same_address=*/true));
  // The desk's channel may still be in gRPC's reconnect backoff from the
  // kill. Its Listen, once back, also sends what waited: then the retry
  // finds nothing left (0); either way it goes once.
  json retried;
  for (int i = 0; i < 40; ++i) {
    httplib::Result r = page_->Post("/api/retry");
    ASSERT_TRUE(r);
    retried = Page::Body(r);
    if (r->status == 200) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_TRUE(retried["sent"].is_number()) << retried;
  EXPECT_LE(retried["sent"].get<int>(), 1) << retried;
  conversation = Page::Body(page_->Get("/api/conversations/dr-rivera"));
  int first_try = 0;
  for (const json& m : conversation["messages"]) {
    if (m["text"] == "first try") {
      ++first_try;
      EXPECT_EQ(m["state"], "sent") << m;
    }
    if (m["text"] == "to be discarded") EXPECT_EQ(m["state"], "cancelled") << m;
  }
  EXPECT_EQ(first_try, 1);
  EXPECT_EQ(Status(page_->Get("/api/retry")), 404) << "retry is a POST";
  EXPECT_EQ(Status(page_->Post("/api/retry", {}, {{"Origin", "http://127.0.0.1:1"}})), 403);
  desk_->Stop();
}

// The clinical record of a conversation, exported into a directory on this
// machine (as `sotto export`) and checked (as `sotto verify-export`): an
// edited message is named.
TEST_F(DeskAccountRoutesTest, ExportTheRecordAndCheckIt) {
  OpenDesk(NewClient("noa"));
  ASSERT_EQ(Status(page_->Post("/api/send", {{"to", "dr-rivera"},
                                             {"text", "the panic came back on Tuesday"}})),
            200);
  testing::TempDir where;
  const std::string dir = where.sub("record");
  httplib::Result relative = page_->Post("/api/record/export", {{"peer", "dr-rivera"},
                                                                {"dir", "record"}});
  EXPECT_EQ(Status(relative), 400);
  EXPECT_THAT(relative->body, HasSubstr("\\\"dir\\\" must be an absolute path"));
  httplib::Result no_peer = page_->Post("/api/record/export", {{"dir", dir}});
  EXPECT_EQ(Status(no_peer), 400);
  EXPECT_THAT(no_peer->body, HasSubstr("peer"));
  httplib::Result backwards = page_->Post(
      "/api/record/export",
      {{"peer", "dr-rivera"}, {"dir", dir}, {"from_ms", 2000000000000}, {"to_ms", 1000}});
  EXPECT_EQ(Status(backwards), 400);
  EXPECT_THAT(backwards->body, HasSubstr("to_ms"));
  EXPECT_EQ(Status(page_->Post("/api/record/export", {{"peer", "nobody-here"}, {"dir", dir}})),
            404);
  EXPECT_FALSE(std::filesystem::exists(dir + "/record.json")) << "refused: nothing written";
  EXPECT_EQ(Status(page_->Post("/api/record/export", {{"peer", "dr-rivera"}, {"dir", dir}},
                               {{"Origin", "http://evil.test"}})),
            403);

  httplib::Result made = page_->Post("/api/record/export", {{"peer", "dr-rivera"}, {"dir", dir}});
  ASSERT_EQ(Status(made), 200) << made->body;
  EXPECT_EQ(Page::Body(made)["message_count"], 1);
  EXPECT_EQ(Page::Body(made)["signer_fingerprint"].get<std::string>().size(), 35u);
  for (const char* file : {"record.json", "record.html", "record.sig"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
  }
  EXPECT_EQ(Status(page_->Post("/api/record/export", {{"peer", "dr-rivera"}, {"dir", dir}})), 409)
      << "an export is never overwritten";

  json checked = Page::Body(page_->Post("/api/record/verify", {{"dir", dir}}));
  EXPECT_EQ(checked["ok"], true) << checked;
  EXPECT_EQ(checked["signer_match"], "own");
  EXPECT_EQ(checked["signer_handle"], "noa");
  EXPECT_EQ(checked["peer"], "dr-rivera");
  EXPECT_EQ(checked["message_count"], 1);

  // An edited message is caught and named; the key is not vouched for then.
  const std::string json_path = dir + "/record.json";
  std::string record = testing::ReadFile(json_path);
  const size_t at = record.find("Tuesday");
  ASSERT_NE(at, std::string::npos);
  record.replace(at, 7, "Friday!");
  {
    std::ofstream out(json_path, std::ios::binary | std::ios::trunc);
    out << record;
  }
  json edited = Page::Body(page_->Post("/api/record/verify", {{"dir", dir}}));
  EXPECT_EQ(edited["ok"], false) << edited;
  ASSERT_FALSE(edited["problems"].empty());
  EXPECT_THAT(edited["problems"][0].get<std::string>(), HasSubstr("altered"));
  EXPECT_EQ(edited["signer_match"], nullptr);
  EXPECT_EQ(Status(page_->Post("/api/record/verify", {{"dir", where.sub("none")}})), 404);
  desk_->Stop();
}

}  // namespace
}  // namespace sotto::desk
