// The `sotto` command as a new user runs it, against the real server.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sotto-cli-test-", getpid(), "-", ::testing::UnitTest::GetInstance()
                                                              ->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `sotto --profile <dir>/<who> args...` with the passphrase in the
  // environment and `input` on stdin.
  CliRun Sotto(const std::string& who, const std::string& args,
            const std::string& passphrase = "correct horse", const std::string& input = "") {
    const std::string in = (dir_ / "stdin").string();
    const std::string out = (dir_ / "stdout").string();
    const std::string err = (dir_ / "stderr").string();
    std::ofstream(in) << input;
    std::string command = absl::StrCat(
        "SOTTO_PASSPHRASE=", Quote(passphrase), " ", SOTTO_CLI_BINARY, " --profile ",
        Quote((dir_ / who).string()), " ", args, " <", in, " >", out, " 2>", err);
    int status = std::system(command.c_str());
    CliRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = Slurp(out);
    run.err = Slurp(err);
    return run;
  }

  CliRun Init(const std::string& who, const std::string& role) {
    return Sotto(who, absl::StrCat("init --server ", server_->address(), " --role ", role,
                                   " --name ", who));
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::filesystem::path dir_;
};

TEST_F(CliTest, WalkthroughFromTheReadme) {
  CliRun therapist = Init("dr-rivera", "therapist");
  ASSERT_EQ(therapist.exit_code, 0) << therapist.err;
  EXPECT_THAT(therapist.out, HasSubstr("Registered dr-rivera as a therapist"));
  ASSERT_EQ(Init("sam", "client").exit_code, 0);

  CliRun sent = Sotto("sam", "send dr-rivera 'I had a hard week.'");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("Sent to dr-rivera"));
  CliRun piped = Sotto("sam", "send dr-rivera", "correct horse", "A longer note\nover two lines.\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;

  CliRun sync = Sotto("dr-rivera", "sync");
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.out, HasSubstr("2 new messages"));

  CliRun inbox = Sotto("dr-rivera", "inbox");
  ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
  EXPECT_THAT(inbox.out, HasSubstr("sam"));
  EXPECT_THAT(inbox.out, HasSubstr("over two lines."));

  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("I had a hard week."));
  EXPECT_THAT(read.out, HasSubstr("A longer note\nover two lines.\n"));

  ASSERT_EQ(Sotto("dr-rivera", "send sam 'Thank you for writing.'").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  CliRun reply = Sotto("sam", "read dr-rivera");
  EXPECT_THAT(reply.out, HasSubstr("Thank you for writing."));
  EXPECT_THAT(reply.out, HasSubstr("sam (you)"));
}

TEST_F(CliTest, ErrorsAreOneClearLineAndANonZeroExit) {
  ASSERT_EQ(Init("sam", "client").exit_code, 0);

  CliRun wrong = Sotto("sam", "inbox", "not my passphrase");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("passphrase"));
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  // Nothing was damaged: the right passphrase still opens it.
  EXPECT_EQ(Sotto("sam", "inbox").exit_code, 0);

  CliRun nobody = Sotto("sam", "send nobody-here hello");
  EXPECT_NE(nobody.exit_code, 0);
  EXPECT_THAT(nobody.err, HasSubstr("nobody-here"));

  CliRun no_profile = Sotto("someone-else", "inbox");
  EXPECT_NE(no_profile.exit_code, 0);
  EXPECT_THAT(no_profile.err, HasSubstr("sotto init"));

  CliRun twice = Init("sam", "client");
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_THAT(twice.err, HasSubstr("already exists"));

  CliRun taken = Sotto("other", absl::StrCat("init --server ", server_->address(),
                                          " --role client --name sam"));
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other" / "CURRENT"))
      << "a failed init leaves no half-made profile";

  CliRun bad_role = Sotto("x", "init --server 127.0.0.1:1 --role admin --name x1");
  EXPECT_NE(bad_role.exit_code, 0);
  EXPECT_THAT(bad_role.err, HasSubstr("role"));

  CliRun unreachable = Sotto("late", "init --server 127.0.0.1:1 --role client --name late");
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_THAT(unreachable.err, HasSubstr("unreachable"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* command : {"", "init", "send", "sync", "inbox", "read"}) {
    CliRun help = Sotto("sam", absl::StrCat(command, " --help"));
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("Usage")) << command;
  }
}

}  // namespace
}  // namespace sotto
