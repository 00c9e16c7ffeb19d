// `sotto link-device` and `sotto init --link CODE` as a person runs them: two
// processes of the real binary against the real server. The code is read off
// link-device's output as a person would copy it; the new device gets the
// history and both list each other; a code used twice, a wrong code and a
// mistyped one each fail with an error that says so and leave no profile.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli_fixture.h"

extern char** environ;

namespace sotto {
namespace {

using ::testing::HasSubstr;

// `sotto link-device` running in the background, its output in files.
class Background {
 public:
  Background(const std::filesystem::path& dir, const std::string& command)
      : out_((dir / "bg.out").string()), err_((dir / "bg.err").string()) {
    const std::string sh = absl::StrCat("exec ", command, " </dev/null >", out_, " 2>", err_);
    const char* argv[] = {"/bin/sh", "-c", sh.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
  }
  ~Background() {
    if (pid_ > 0) {  // a failed test must not leave it waiting for 10 minutes
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The code after "--link " in its output, once it printed it (30 s at most).
  std::string AwaitCode() {
    const std::string marker = "--link ";
    for (int i = 0; i < 600; ++i) {
      const std::string out = Slurp(out_);
      const size_t at = out.find(marker);
      if (at != std::string::npos) {
        const size_t end = out.find(' ', at + marker.size());
        if (end != std::string::npos)
          return out.substr(at + marker.size(), end - at - marker.size());
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "link-device ended before showing a code: " << Slurp(err_);
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "link-device showed no code within 30 s: " << Slurp(out_) << Slurp(err_);
    return "";
  }

  // Waits for it to end (60 s at most): its exit code, output and errors.
  CliRun Finish() {
    CliRun run;
    for (int i = 0; i < 1200 && pid_ > 0; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    run.out = Slurp(out_);
    run.err = Slurp(err_);
    return run;
  }

 private:
  std::string out_;
  std::string err_;
  pid_t pid_ = -1;
};

class CliLinkTest : public CliTest {
 protected:
  std::string LinkDeviceCommand(const std::string& who, const std::string& flags = "") {
    return absl::StrCat("env SOTTO_PASSPHRASE=", Quote("correct horse"), " ", SOTTO_CLI_BINARY,
                        " --profile ", Quote((dir_ / who).string()), " link-device ", flags);
  }
  CliRun Join(const std::string& who, const std::string& code) {
    return Sotto(who, absl::StrCat("init --server ", server_->address(), " --link ", Quote(code),
                                   " --device-name office-laptop"));
  }
  // Anything left in the directory (a failed join leaves it missing or empty).
  bool HasProfile(const std::string& who) {
    std::error_code ec;
    return std::filesystem::exists(dir_ / who, ec) && !std::filesystem::is_empty(dir_ / who, ec);
  }
};

TEST_F(CliLinkTest, NewDeviceJoinsWithTheCodeAndGetsTheHistory) {
  ASSERT_EQ(InitTherapist("dr-lee").exit_code, 0);
  ASSERT_EQ(InitClient("max", "dr-lee").exit_code, 0);
  ASSERT_EQ(Sotto("max", "send dr-lee 'the week was long'").exit_code, 0);
  ASSERT_EQ(Sotto("max", "send dr-lee 'and the weekend longer'").exit_code, 0);
  CliRun synced = Sotto("dr-lee", "sync");
  ASSERT_EQ(synced.exit_code, 0) << synced.err;

  Background link(dir_, LinkDeviceCommand("dr-lee"));
  const std::string code = link.AwaitCode();
  ASSERT_THAT(code, ::testing::StartsWith("sotto-link-"));
  CliRun joined = Join("dr-laptop", code);
  CliRun linked = link.Finish();
  ASSERT_EQ(joined.exit_code, 0) << joined.out << joined.err;
  ASSERT_EQ(linked.exit_code, 0) << linked.out << linked.err;
  EXPECT_THAT(linked.out, HasSubstr("The code works once"));
  EXPECT_THAT(linked.out, HasSubstr("Sent. The new device finishes joining by itself"));
  EXPECT_THAT(linked.err, HasSubstr("Sending history: 2 messages"));
  EXPECT_THAT(joined.out, HasSubstr("Joined dr-lee as device 2"));
  EXPECT_THAT(joined.out, HasSubstr("1 contact(s) came over"));
  EXPECT_THAT(joined.out, HasSubstr("2 message(s) of history came over"));
  EXPECT_THAT(joined.err, HasSubstr("Adding history: 2 messages"));

  CliRun read = Sotto("dr-laptop", "read max");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("the week was long"));
  EXPECT_THAT(read.out, HasSubstr("and the weekend longer"));

  for (const char* who : {"dr-lee", "dr-laptop"}) {
    CliRun devices = Sotto(who, "devices");
    ASSERT_EQ(devices.exit_code, 0) << devices.err;
    EXPECT_THAT(devices.out, HasSubstr("(first device)")) << who;
    EXPECT_THAT(devices.out, HasSubstr("office-laptop")) << who;
    EXPECT_THAT(devices.out,
                HasSubstr(std::string(who) == "dr-lee" ? "(first device) *" : "office-laptop *"))
        << devices.out;
  }

  // What max sends next reaches both of dr-lee's devices.
  ASSERT_EQ(Sotto("max", "send dr-lee 'monday then'").exit_code, 0);
  EXPECT_THAT(Sotto("dr-laptop", "sync").out, HasSubstr("1 new message"));
  EXPECT_THAT(Sotto("dr-lee", "sync").out, HasSubstr("1 new message"));

  // The code works once.
  CliRun again = Join("dr-third", code);
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_THAT(again.err, HasSubstr("the link code is unknown, used or expired"));
  EXPECT_FALSE(HasProfile("dr-third"));
}

TEST_F(CliLinkTest, WrongOrMistypedCodeIsNamedAndWritesNoProfile) {
  ASSERT_EQ(InitTherapist("dr-kim").exit_code, 0);
  Background link(dir_, LinkDeviceCommand("dr-kim", "--no-history"));
  const std::string code = link.AwaitCode();
  ASSERT_THAT(code, ::testing::StartsWith("sotto-link-"));

  // One letter of the slot's id changed: well formed, but no such slot (as
  // for an expired code, which the server has forgotten).
  std::string wrong = code;
  const size_t at = std::string("sotto-link-").size() + 7;  // in the slot id, not the version
  wrong[at] = wrong[at] == 'a' ? 'b' : 'a';
  CliRun unknown = Join("dr-wrong", wrong);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_THAT(unknown.err, HasSubstr("the link code is unknown, used or expired"));
  EXPECT_FALSE(HasProfile("dr-wrong"));

  CliRun typo = Join("dr-typo", code.substr(0, code.size() - 1) + "1");
  EXPECT_EQ(typo.exit_code, 1) << typo.out;
  EXPECT_THAT(typo.err, HasSubstr("check for a typo"));
  EXPECT_FALSE(HasProfile("dr-typo"));

  // The right code still works after both.
  CliRun joined = Join("dr-right", code);
  EXPECT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_THAT(joined.out, HasSubstr("No history came over"));
  EXPECT_EQ(link.Finish().exit_code, 0);
}

}  // namespace
}  // namespace sotto
