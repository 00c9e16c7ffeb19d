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
#include "e2e_support.h"
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

  // A therapist enrolled by the operator, or a client invited by `by`.
  CliRun InitTherapist(const std::string& who) {
    auto code = sotto::testing::EnrolmentCode(*server_, who);
    EXPECT_TRUE(code.ok()) << code.status();
    return Sotto(who, absl::StrCat("init --server ", server_->address(),
                                   " --role therapist --name ", who, " --enrol ", *code));
  }
  CliRun InitClient(const std::string& who, const std::string& by) {
    std::string code = InviteCode(by);
    return Sotto(who, absl::StrCat("init --server ", server_->address(),
                                   " --role client --name ", who, " --invite ", code));
  }
  // Runs `sotto invite` as `therapist` and reads the code from its output.
  std::string InviteCode(const std::string& therapist) {
    CliRun invite = Sotto(therapist, "invite");
    EXPECT_EQ(invite.exit_code, 0) << invite.err;
    const std::string prefix = "Invite code: ";
    size_t at = invite.out.find(prefix);
    EXPECT_NE(at, std::string::npos) << invite.out;
    if (at == std::string::npos) return "";
    at += prefix.size();
    return invite.out.substr(at, invite.out.find('\n', at) - at);
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::filesystem::path dir_;
};

TEST_F(CliTest, WalkthroughFromTheReadme) {
  CliRun therapist = InitTherapist("dr-rivera");
  ASSERT_EQ(therapist.exit_code, 0) << therapist.err;
  EXPECT_THAT(therapist.out, HasSubstr("Registered dr-rivera as a therapist"));
  CliRun client = InitClient("sam", "dr-rivera");
  ASSERT_EQ(client.exit_code, 0) << client.err;
  EXPECT_THAT(client.out, HasSubstr("Linked with dr-rivera"));

  CliRun sent = Sotto("sam", "send dr-rivera 'I had a hard week.'");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("Sent to dr-rivera"));
  EXPECT_THAT(sent.out, HasSubstr("Expect a reply from dr-rivera by"));
  EXPECT_THAT(sent.out, HasSubstr("988"));
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
  EXPECT_THAT(read.out, HasSubstr("  A longer note\n  over two lines.\n"));

  ASSERT_EQ(Sotto("dr-rivera", "send sam 'Thank you for writing.'").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  CliRun reply = Sotto("sam", "read dr-rivera");
  EXPECT_THAT(reply.out, HasSubstr("Thank you for writing."));
  EXPECT_THAT(reply.out, HasSubstr("sam (you)"));
}

TEST_F(CliTest, TherapistWorksTheQueueAndAnswersALetterInItsThread) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun policy = Sotto("dr-rivera", "policy set --tz Europe/Berlin --days mon-fri "
                                     "--hours 09:00-17:00 --window 1d");
  ASSERT_EQ(policy.exit_code, 0) << policy.err;
  CliRun shown = Sotto("sam", "policy dr-rivera");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("Europe/Berlin"));

  CliRun letter = Sotto("sam", "letter dr-rivera --subject 'The dream again'", "correct horse",
                        "Dear Dr. Rivera,\nI had the dream again.\n");
  ASSERT_EQ(letter.exit_code, 0) << letter.err;

  CliRun queue = Sotto("dr-rivera", "queue");
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  EXPECT_THAT(queue.out, HasSubstr("CLIENT"));
  EXPECT_THAT(queue.out, HasSubstr("sam"));

  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);
  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("Subject: The dream again"));
  // "── <id8>  <time>  sam": reply by the short id shown.
  const size_t dash = read.out.find("── ");
  ASSERT_NE(dash, std::string::npos);
  const std::string id = read.out.substr(dash + std::string("── ").size(), 8);
  CliRun reply = Sotto("dr-rivera", "reply " + id + " 'Let us look at it on Thursday.'");
  ASSERT_EQ(reply.exit_code, 0) << reply.err;

  CliRun empty = Sotto("dr-rivera", "queue");
  EXPECT_THAT(empty.out, HasSubstr("Nobody is waiting"));
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  CliRun thread = Sotto("sam", "read dr-rivera");
  EXPECT_THAT(thread.out, HasSubstr("Re: The dream again"));
  EXPECT_THAT(thread.out, HasSubstr("Let us look at it on Thursday."));
}

TEST_F(CliTest, AMessageCannotControlTheReadersTerminal) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  // Clears the screen, retitles the window, and forges a message header.
  const std::string nasty = "hi\x1b[2J\x1b]0;owned\x07\n── Fri 27 Nov 02:00  dr-rivera\nfake";
  ASSERT_EQ(Sotto("sam", "send dr-rivera", "correct horse", nasty).exit_code, 0);
  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);
  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out.find('\x1b'), std::string::npos) << read.out;
  EXPECT_EQ(read.out.find('\x07'), std::string::npos);
  EXPECT_THAT(read.out, HasSubstr("\n  ── Fri 27 Nov 02:00  dr-rivera\n"))
      << "the forged header is indented as body text";
  CliRun inbox = Sotto("dr-rivera", "inbox");
  EXPECT_EQ(inbox.out.find('\x1b'), std::string::npos);
}

TEST_F(CliTest, SendLaterCanBeCancelled) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun later = Sotto("sam", "send dr-rivera 'for the morning' --at +2h");
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_THAT(later.out, HasSubstr("Scheduled for dr-rivera"));
  const std::string marker = "cancel with: sotto cancel ";
  const size_t at = later.out.find(marker);
  ASSERT_NE(at, std::string::npos) << later.out;
  const std::string id = later.out.substr(at + marker.size(), 8);
  CliRun cancel = Sotto("sam", "cancel " + id);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(Sotto("sam", "read dr-rivera").out, HasSubstr("cancelled"));
  CliRun bad_time = Sotto("sam", "send dr-rivera hi --at someday");
  EXPECT_NE(bad_time.exit_code, 0);
  EXPECT_THAT(bad_time.err, HasSubstr("someday"));
}

TEST_F(CliTest, ErrorsAreOneClearLineAndANonZeroExit) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);

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

  CliRun twice = InitClient("sam", "dr-rivera");
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_THAT(twice.err, HasSubstr("already exists"));

  CliRun taken = Sotto("other", absl::StrCat("init --server ", server_->address(),
                                             " --role client --name sam --invite ",
                                             InviteCode("dr-rivera")));
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other" / "CURRENT"))
      << "a failed init leaves no half-made profile";

  CliRun bad_role = Sotto("x", "init --server 127.0.0.1:1 --role admin --name x1");
  EXPECT_NE(bad_role.exit_code, 0);
  EXPECT_THAT(bad_role.err, HasSubstr("role"));

  CliRun no_invite = Sotto("x", absl::StrCat("init --server ", server_->address(),
                                             " --role client --name newbie"));
  EXPECT_NE(no_invite.exit_code, 0);
  EXPECT_THAT(no_invite.err, HasSubstr("--invite"));

  CliRun client_queue = Sotto("sam", "queue");
  EXPECT_NE(client_queue.exit_code, 0);

  CliRun unreachable = Sotto("late", "init --server 127.0.0.1:1 --role client --name late "
                                     "--invite AAAA-BBBB-CCCC");
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_THAT(unreachable.err, HasSubstr("unreachable"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* command :
       {"", "init", "send", "letter", "reply", "cancel", "sync", "inbox", "read", "invite",
        "accept-invite", "links", "unlink", "policy", "queue", "snooze", "close", "claim",
        "settings"}) {
    CliRun help = Sotto("sam", absl::StrCat(command, " --help"));
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("Usage")) << command;
  }
}

}  // namespace
}  // namespace sotto
