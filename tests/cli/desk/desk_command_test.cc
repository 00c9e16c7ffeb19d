// The `sotto desk` command itself, as a person runs it: the binary prints
// the URL (and writes it owner-only for scripts), serves the page, serves the
// profile's agent socket so other `sotto` commands on the profile run in it,
// and ends cleanly on SIGTERM.

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "desk_fixture.h"
#include "gmock/gmock.h"

extern char** environ;

namespace sotto::desk {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class DeskCommandTest : public DeskTest {
 protected:
  // Registers `handle` as a client of dr-rivera's and starts `sotto desk`
  // on that profile (the passphrase in SOTTO_PASSPHRASE, `flags` added);
  // returns its URL once it listens. The process is SIGTERMed at TearDown.
  std::string StartDeskProcess(const std::string& handle, std::vector<std::string> flags = {}) {
    RegisterOptions options = Options(handle);
    auto invite = rivera_->CreateInvite();
    EXPECT_TRUE(invite.ok()) << invite.status();
    if (!invite.ok()) return "";
    options.invite_code = invite->code;
    auto registered = Client::Register(options);
    EXPECT_TRUE(registered.ok()) << registered.status();
    if (!registered.ok()) return "";
    registered->reset();
    url_file_ = dirs_->sub(handle + "-url");
    profile_ = dirs_->sub(handle);
    std::vector<std::string> args = {SOTTO_CLI_BINARY, "--profile",      profile_, "desk",
                                     "--no-open",      "--print-url-to", url_file_};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::setenv("SOTTO_PASSPHRASE", kPassphrase, 1);
    const int spawned =
        ::posix_spawn(&pid_, SOTTO_CLI_BINARY, nullptr, nullptr, argv.data(), environ);
    ::unsetenv("SOTTO_PASSPHRASE");
    EXPECT_EQ(spawned, 0);
    std::string url;
    for (int i = 0; i < 100 && url.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream(url_file_) >> url;
    }
    EXPECT_THAT(url, StartsWith("http://127.0.0.1:"));
    return url;
  }
  // SIGTERM, then the exit status (-1: killed by a signal).
  int StopDeskProcess() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int wait_status = 0;
    ::waitpid(pid_, &wait_status, 0);
    pid_ = -1;
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  }
  void TearDown() override { StopDeskProcess(); }

  pid_t pid_ = -1;
  std::string url_file_;
  std::string profile_;
};

// What `command` printed (stdout and stderr) and its exit status.
std::pair<int, std::string> RunShell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_F(DeskCommandTest, ServesThePageAndTheAgentSocketAndEndsOnSigterm) {
  const std::string url = StartDeskProcess("lou");
  ASSERT_THAT(url, StartsWith("http://127.0.0.1:"));
  const std::string& profile = profile_;
  struct stat st {};
  ASSERT_EQ(::stat(url_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const int port = std::stoi(url.substr(std::string("http://127.0.0.1:").size()));
  Page page(port);
  ASSERT_TRUE(page.Open(url.substr(url.find("t=") + 2)));
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["state"], "open");
  // Another sotto command on the same profile runs in the desk (no
  // passphrase given, and the profile is held by the desk).
  auto [status, output] = RunShell(std::string(SOTTO_CLI_BINARY) + " --profile '" + profile +
                                   "' links --json </dev/null");
  EXPECT_EQ(status, 0) << output;
  EXPECT_THAT(output, HasSubstr("dr-rivera"));

  EXPECT_EQ(StopDeskProcess(), 0);
  EXPECT_FALSE(std::filesystem::exists(profile + "/agent.sock"));
}

// What the CLI does to the desk's session through its agent socket reaches
// the page (issue 18): `sotto settings` changes what GET /api/state shows,
// `sotto lock` locks the page (its event stream hears `locked`, the API
// answers locked) and a thin client's unlock opens it again (`unlocked`).
TEST_F(DeskCommandTest, LockUnlockAndSettingsFromTheCliReachThePage) {
  const std::string url = StartDeskProcess("kit");
  ASSERT_THAT(url, StartsWith("http://127.0.0.1:"));
  const int port = std::stoi(url.substr(std::string("http://127.0.0.1:").size()));
  const std::string token = url.substr(url.find("t=") + 2);
  Page page(port);
  ASSERT_TRUE(page.Open(token));
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["read_receipts"], true);
  const std::string sotto =
      std::string("env -u SOTTO_PASSPHRASE ") + SOTTO_CLI_BINARY + " --profile '" + profile_ + "' ";

  auto [set_status, set_output] = RunShell(sotto + "settings --read-receipts off </dev/null");
  ASSERT_EQ(set_status, 0) << set_output;
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["read_receipts"], false);

  Page listener(port);
  ASSERT_TRUE(listener.Open(token));
  EventStream events(listener);
  ASSERT_TRUE(events.WaitOpened());
  auto [lock_status, lock_output] = RunShell(sotto + "lock </dev/null");
  ASSERT_EQ(lock_status, 0) << lock_output;
  EXPECT_TRUE(events.WaitFor("event: locked", absl::Seconds(5))) << events.text();
  EXPECT_EQ(Page::Body(page.Get("/api/state"))["state"], "locked");
  EXPECT_EQ(page.Get("/api/conversations")->status, 423);

  // A command with the passphrase unlocks the agent's session, and so the page.
  auto [run_status, run_output] =
      RunShell(std::string("SOTTO_PASSPHRASE='") + kPassphrase + "' " + SOTTO_CLI_BINARY +
               " --profile '" + profile_ + "' links --json </dev/null");
  EXPECT_EQ(run_status, 0) << run_output;
  EXPECT_TRUE(events.WaitFor("event: unlocked", absl::Seconds(5))) << events.text();
  nlohmann::json state = Page::Body(page.Get("/api/state"));
  EXPECT_EQ(state["state"], "open");
  EXPECT_EQ(state["read_receipts"], false);
  EXPECT_EQ(StopDeskProcess(), 0);
}

}  // namespace
}  // namespace sotto::desk
