#ifndef SOTTO_TESTS_CLI_DESK_DESK_FIXTURE_H_
#define SOTTO_TESTS_CLI_DESK_DESK_FIXTURE_H_

// What the desk tests share: one real sotto-server for the suite, a
// therapist (dr-rivera, a Client the test holds) and a client (sam, a real
// profile directory the desk opens), and a small HTTP client that speaks to
// a desk as the page does (its cookie, its Origin) unless told otherwise.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "desk_server.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "sotto/client.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::desk {

inline constexpr char kPassphrase[] = "correct horse battery staple";

// The page's side of one desk.
class Page {
 public:
  explicit Page(int port) : port_(port), http_("127.0.0.1", port) { http_.set_read_timeout(10, 0); }

  // GET /open?t=TOKEN and keep the cookie it sets.
  httplib::Result Open(const std::string& token, const httplib::Headers& headers = {}) {
    httplib::Result r = http_.Get(("/open?t=" + token).c_str(), headers);
    if (r && r->has_header("Set-Cookie")) {
      const std::string set = r->get_header_value("Set-Cookie");
      cookie_ = set.substr(0, set.find(';'));
    }
    return r;
  }
  const std::string& cookie() const { return cookie_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The page's own headers, then `extra` (which may replace them).
  httplib::Headers Headers(const httplib::Headers& extra = {}) const {
    httplib::Headers h = extra;
    if (!cookie_.empty() && h.find("Cookie") == h.end()) h.emplace("Cookie", cookie_);
    if (h.find("Origin") == h.end()) h.emplace("Origin", origin());
    return h;
  }
  httplib::Result Get(const std::string& path, const httplib::Headers& extra = {}) {
    return http_.Get(path.c_str(), Headers(extra));
  }
  httplib::Result Post(const std::string& path,
                       const nlohmann::json& body = nlohmann::json::object(),
                       const httplib::Headers& extra = {}) {
    return http_.Post(path.c_str(), Headers(extra), body.dump(), "application/json");
  }
  httplib::Result Put(const std::string& path, const nlohmann::json& body) {
    return http_.Put(path.c_str(), Headers(), body.dump(), "application/json");
  }
  // The answer's body as JSON (null when it is not).
  static nlohmann::json Body(const httplib::Result& r) {
    if (!r) return nullptr;
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  httplib::Client& http() { return http_; }

 private:
  int port_;
  httplib::Client http_;
  std::string cookie_;
};

// A page's event stream (GET /api/events), read on a thread of its own
// until the desk stops, the stream idles past the page's read timeout, or
// this is destroyed (which waits for the next event or that timeout: stop
// the desk first). `page` must outlive it.
class EventStream {
 public:
  explicit EventStream(Page& page)
      : thread_([this, &page] {
          page.http().Get("/api/events", page.Headers(), [this](const char* data, size_t n) {
            absl::MutexLock lock(&mu_);
            text_.append(data, n);
            opened_ = true;
            return !stopping_;
          });
        }) {}
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  ~EventStream() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  // True once the desk answered (the stream's first bytes arrived).
  bool WaitOpened(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&opened_), timeout);
  }
  // True once the stream holds `needle` after the end of the previous
  // needle found (so "locked" then "unlocked" means in that order).
  bool WaitFor(const std::string& needle, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto found = [&] {
      mu_.AssertHeld();
      return text_.find(needle, from_) != std::string::npos;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&found), timeout)) return false;
    from_ = text_.find(needle, from_) + needle.size();
    return true;
  }
  // The index of whichever of `needles` comes first after the previous
  // needle found, or -1 if none arrives in time (for a wait that another
  // event may end: a message, or the lock that stops messages).
  int WaitForFirst(const std::vector<std::string>& needles,
                   absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto first = [&](size_t* at) {
      mu_.AssertHeld();
      int which = -1;
      for (size_t i = 0; i < needles.size(); ++i) {
        const size_t pos = text_.find(needles[i], from_);
        if (pos != std::string::npos && (which < 0 || pos < *at)) {
          which = static_cast<int>(i);
          *at = pos;
        }
      }
      return which;
    };
    auto any = [&] {
      size_t at = 0;
      return first(&at) >= 0;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&any), timeout)) return -1;
    size_t at = 0;
    const int which = first(&at);
    from_ = at + needles[which].size();
    return which;
  }
  // Everything read so far (for failure messages).
  std::string text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  size_t from_ ABSL_GUARDED_BY(mu_) = 0;
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest is ready
};

class DeskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::ServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    dirs_ = new testing::TempDir();
    auto code = testing::IssueEnrolmentCode(server_->data_dir(), "dr-rivera");
    ASSERT_TRUE(code.ok()) << code.status();
    RegisterOptions therapist = Options("dr-rivera");
    therapist.role = Role::kTherapist;
    therapist.enrolment_code = *code;
    auto rivera = Client::Register(therapist);
    ASSERT_TRUE(rivera.ok()) << rivera.status();
    rivera_ = rivera->release();
    auto invite = rivera_->CreateInvite();
    ASSERT_TRUE(invite.ok()) << invite.status();
    RegisterOptions sam = Options("sam");
    sam.invite_code = invite->code;
    // Registered, then closed: the desk is the profile's one owner.
    ASSERT_TRUE(Client::Register(sam).ok());
  }
  static void TearDownTestSuite() {
    delete rivera_;
    delete dirs_;
    delete server_;
  }

  static RegisterOptions Options(const std::string& handle) {
    RegisterOptions o;
    o.profile_dir = dirs_->sub(handle);
    o.server_address = server_->address();
    o.handle = handle;
    o.passphrase = kPassphrase;
    o.key_derivation = KeyDerivation::kFastForTestsOnly;
    return o;
  }

  // A desk on sam's profile; opened at start unless `passphrase` is empty.
  static std::unique_ptr<DeskServer> StartDesk(
      const std::string& profile_dir, const std::string& passphrase = kPassphrase,
      absl::Duration auto_lock_after = DeskOptions().auto_lock_after) {
    DeskOptions options;
    options.profile_dir = profile_dir;
    options.passphrase = passphrase;
    options.auto_lock_after = auto_lock_after;
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    auto desk = DeskServer::Start(std::move(options));
    EXPECT_TRUE(desk.ok()) << desk.status();
    return desk.ok() ? *std::move(desk) : nullptr;
  }

  // The desk's token, from its URL.
  static std::string Token(const DeskServer& desk) {
    const std::string url = desk.url();
    return url.substr(url.find("t=") + 2);
  }

  // sam's desk, opened, and a page holding its cookie.
  void OpenSamsDesk() {
    desk_ = StartDesk(dirs_->sub("sam"));
    ASSERT_NE(desk_, nullptr);
    page_ = std::make_unique<Page>(desk_->port());
    ASSERT_TRUE(page_->Open(Token(*desk_)));
    ASSERT_FALSE(page_->cookie().empty());
  }

  static testing::ServerProcess* server_;
  static testing::TempDir* dirs_;
  static Client* rivera_;
  std::unique_ptr<DeskServer> desk_;
  std::unique_ptr<Page> page_;
};

inline testing::ServerProcess* DeskTest::server_ = nullptr;
inline testing::TempDir* DeskTest::dirs_ = nullptr;
inline Client* DeskTest::rivera_ = nullptr;

}  // namespace sotto::desk

#endif  // SOTTO_TESTS_CLI_DESK_DESK_FIXTURE_H_
