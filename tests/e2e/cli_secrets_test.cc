// The passphrase and the process memory of a running `sotto` (issue 22,
// "Secrets at rest and in memory"): what another process of the same user
// could read from /proc while `sotto send` waits for its message on stdin.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "cli_fixture.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;

constexpr char kPassphrase[] = "correct horse";

// `sotto send` started with a pipe on stdin that stays open, so the process
// waits (after opening the profile) until the test writes the message.
class RunningSend {
 public:
  RunningSend(const std::string& profile, const std::string& to) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], STDIN_FILENO);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      // A core limit the process must lower itself (the test may already run
      // with 0, which would prove nothing).
      const rlimit some{1 << 20, 1 << 20};
      setrlimit(RLIMIT_CORE, &some);
      std::string pass = std::string("SOTTO_PASSPHRASE=") + kPassphrase;
      std::vector<char*> env = {pass.data(), nullptr};
      std::vector<std::string> args = {SOTTO_CLI_BINARY, "--profile", profile, "send", to, "-"};
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execve(SOTTO_CLI_BINARY, argv.data(), env.data());
      _exit(127);
    }
    close(in[0]);
    stdin_ = in[1];
  }
  ~RunningSend() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  std::string Proc(const std::string& file) const {
    return Slurp(absl::StrCat("/proc/", pid_, "/", file));
  }
  // Writes the message, closes stdin and returns the exit code.
  int Finish(const std::string& text) {
    (void)!write(stdin_, text.data(), text.size());
    close(stdin_);
    stdin_ = -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  bool reaped_ = false;
};

class CliSecretsTest : public CliTest {};

TEST_F(CliSecretsTest, ARunningSottoHasNoCoreLimitAndNoPassphraseInItsEnvironment) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);

  RunningSend send((dir_ / "sam").string(), "dr-rivera");
  ASSERT_GT(send.pid(), 0);
  // The environment block is what /proc/PID/environ shows. Once the profile
  // is open the passphrase is no longer there: overwritten in place, and
  // the variable removed for any child.
  bool gone = false;
  std::string environ;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    environ = send.Proc("environ");
    gone = absl::StrContains(environ, "SOTTO_PASSPHRASE=") &&  // the name stays
           !absl::StrContains(environ, kPassphrase);
  }
  EXPECT_TRUE(gone) << "environ: " << environ;
  // No core file, whatever limit it was started with.
  const std::string limits = send.Proc("limits");
  EXPECT_THAT(limits, ::testing::ContainsRegex("Max core file size +0 +0 "));

  // And the send still works: the passphrase was used before it was wiped.
  EXPECT_EQ(send.Finish("hello from a wiped process\n"), 0);
  CliRun read = Sotto("dr-rivera", "sync");
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(Sotto("dr-rivera", "read sam").out, HasSubstr("hello from a wiped process"));
}

}  // namespace
}  // namespace sotto
