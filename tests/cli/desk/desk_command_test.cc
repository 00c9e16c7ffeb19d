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

class DeskCommandTest : public DeskTest {};

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
  RegisterOptions lou = Options("lou");
  ASSERT_OK_AND_ASSIGN(Invite invite, rivera_->CreateInvite());
  lou.invite_code = invite.code;
  ASSERT_OK(Client::Register(lou).status());
  const std::string url_file = dirs_->sub("lou-url");
  const std::string profile = dirs_->sub("lou");
  std::vector<std::string> args = {SOTTO_CLI_BINARY, "--profile",      profile, "desk",
                                   "--no-open",      "--print-url-to", url_file};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::setenv("SOTTO_PASSPHRASE", kPassphrase, 1);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, SOTTO_CLI_BINARY, nullptr, nullptr, argv.data(), environ), 0);
  ::unsetenv("SOTTO_PASSPHRASE");
  std::string url;
  for (int i = 0; i < 100 && url.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream(url_file) >> url;
  }
  ASSERT_THAT(url, StartsWith("http://127.0.0.1:"));
  struct stat st {};
  ASSERT_EQ(::stat(url_file.c_str(), &st), 0);
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

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << wait_status;
  EXPECT_FALSE(std::filesystem::exists(profile + "/agent.sock"));
}

}  // namespace
}  // namespace sotto::desk
