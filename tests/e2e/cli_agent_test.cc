// `sotto agent` and the thin `sotto` (issue 18): commands forwarded over the
// agent socket print what they print without it, only this user gets in, and
// a locked agent is unlocked by the passphrase. The real sotto-server, real
// profiles and the real `sotto` binary, as a person runs them.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/protocol.h"
#include "cli_fixture.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A process started in the background, killed (SIGTERM) when destroyed.
struct Background {
  pid_t pid = -1;
  std::string out_path, err_path;
  ~Background() { Stop(); }
  // SIGTERM, then its exit status.
  int Stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string out() const { return Slurp(out_path); }
  std::string err() const { return Slurp(err_path); }
};

class CliAgentTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(InitTherapist("drr").exit_code, 0);
    ASSERT_EQ(InitClient("sam", "drr").exit_code, 0);
  }

  std::string Profile(const std::string& who) { return (dir_ / who).string(); }
  std::string Socket(const std::string& who) { return Profile(who) + "/agent.sock"; }

  // `sotto --profile DIR/who args` in the background (shell words, as
  // Sotto), its output in files named after `tag`.
  std::unique_ptr<Background> Spawn(const std::string& who, const std::string& args,
                                    const std::string& tag,
                                    const std::string& passphrase = "correct horse") {
    auto b = std::make_unique<Background>();
    b->out_path = (dir_ / (tag + ".out")).string();
    b->err_path = (dir_ / (tag + ".err")).string();
    const std::string command =
        absl::StrCat("exec env SOTTO_ALLOW_WEAK_PASSPHRASE=1 SOTTO_PASSPHRASE=", Quote(passphrase),
                     " ", SOTTO_CLI_BINARY, " --profile ", Quote(Profile(who)), " ", args,
                     " </dev/null >", b->out_path, " 2>", b->err_path);
    b->pid = fork();
    if (b->pid == 0) {
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return b;
  }

  // `sotto agent` on who's profile, once it listens.
  std::unique_ptr<Background> StartAgent(const std::string& who, const std::string& flags = "") {
    auto agent = Spawn(who, absl::StrCat("agent ", flags), "agent-" + who);
    for (int i = 0; i < 300 && agent->out().find("serving") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_THAT(agent->out(), HasSubstr("serving")) << agent->err();
    return agent;
  }

  // As Sotto, in working directory `cwd`, with no passphrase in the
  // environment unless `passphrase` is given.
  CliRun SottoIn(const std::string& cwd, const std::string& who, const std::string& args,
                 const std::string& env = "", const std::string& input = "") {
    const std::string in = (dir_ / "in.in").string();
    std::ofstream(in) << input;
    const std::string out = (dir_ / "in.out").string();
    const std::string err = (dir_ / "in.err").string();
    const std::string command = absl::StrCat(
        "cd ", Quote(cwd), " && setsid -w env -u SOTTO_PASSPHRASE ", env, " ", SOTTO_CLI_BINARY,
        " --profile ", Quote(Profile(who)), " ", args, " <", in, " >", out, " 2>", err);
    const int status = std::system(command.c_str());
    return CliRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out), Slurp(err)};
  }
};

// The first column of each line (the queue's WAITED column moves with the
// clock).
std::string FirstColumn(const std::string& text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    out += line.substr(0, line.find(' ')) + "\n";
    at = end + 1;
  }
  return out;
}

TEST_F(CliAgentTest, CommandsThroughTheAgentPrintWhatTheyPrintWithout) {
  ASSERT_EQ(Sotto("sam", "send drr 'hello from sam'").exit_code, 0);
  ASSERT_EQ(
      Sotto("sam", "letter drr --subject 'A dream'", "correct horse", "Dear Dr R\n").exit_code, 0);
  ASSERT_EQ(Sotto("drr", "sync").exit_code, 0);
  const std::vector<std::string> commands = {"inbox",
                                             "inbox --json",
                                             "policy",
                                             "policy --json",
                                             "links --json",
                                             "settings",
                                             "safety-number sam --json"};
  std::vector<CliRun> direct;
  for (const std::string& c : commands) direct.push_back(Sotto("drr", c));
  const CliRun queue_direct = Sotto("drr", "queue");

  auto agent = StartAgent("drr");
  // No passphrase in the environment: the agent's open session answers.
  for (size_t i = 0; i < commands.size(); ++i) {
    CliRun forwarded = SottoIn(dir_.string(), "drr", commands[i]);
    EXPECT_EQ(forwarded.exit_code, direct[i].exit_code) << commands[i] << forwarded.err;
    EXPECT_EQ(forwarded.out, direct[i].out) << commands[i];
    EXPECT_EQ(forwarded.err, direct[i].err) << commands[i];
  }
  CliRun queue = SottoIn(dir_.string(), "drr", "queue");
  EXPECT_EQ(queue.exit_code, 0);
  EXPECT_EQ(FirstColumn(queue.out), FirstColumn(queue_direct.out));
  EXPECT_THAT(queue.out, HasSubstr("sam"));

  CliRun read = SottoIn(dir_.string(), "drr", "read sam");
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("hello from sam"));
  EXPECT_THAT(read.out, HasSubstr("Subject: A dream"));

  // Sending: the text from an argument, a reply's body from stdin.
  CliRun sent = SottoIn(dir_.string(), "drr", "send sam 'see you Thursday'");
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("Sent to sam"));
  CliRun piped = SottoIn(dir_.string(), "drr", "send sam < /dev/null");
  EXPECT_EQ(piped.exit_code, 1);
  EXPECT_THAT(piped.err, HasSubstr("the message is empty; nothing was sent"));
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  EXPECT_THAT(Sotto("sam", "read drr").out, HasSubstr("see you Thursday"));

  // A parse error is the thin client's own, as without the agent.
  CliRun typo = SottoIn(dir_.string(), "drr", "inbx");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("unknown command \"inbx\""));
}

// `sotto` is a front of libc alone (cli/front/): with an agent running, the
// commands on its short list are forwarded by it without the full command
// (sotto-cli, ~75 libraries) ever starting; all else execs sotto-cli. A copy
// of the front alone, with no sotto-cli beside it, shows which is which.
TEST_F(CliAgentTest, TheFrontForwardsWithoutTheFullCommand) {
  const std::filesystem::path lone = dir_ / "lone";
  std::filesystem::create_directories(lone);
  std::filesystem::copy_file(SOTTO_CLI_BINARY, lone / "sotto");
  auto run = [&](const std::string& args) {
    const std::string out = (dir_ / "lone.out").string();
    const std::string err = (dir_ / "lone.err").string();
    const std::string command =
        absl::StrCat("cd ", Quote(dir_.string()), " && setsid -w env -u SOTTO_PASSPHRASE ",
                     Quote((lone / "sotto").string()), " --profile ", Quote(Profile("drr")), " ",
                     args, " </dev/null >", out, " 2>", err);
    const int status = std::system(command.c_str());
    return CliRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out), Slurp(err)};
  };
  // No agent: the front needs the full command, and says it is missing.
  CliRun alone = run("inbox");
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_THAT(alone.err, HasSubstr("cannot run the full sotto"));

  auto agent = StartAgent("drr");
  const CliRun full = SottoIn(dir_.string(), "drr", "inbox --json");
  CliRun fronted = run("inbox --json");
  EXPECT_EQ(fronted.exit_code, 0) << fronted.err;
  EXPECT_EQ(fronted.out, full.out);
  CliRun sent = run("send sam 'from the front'");
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("Sent to sam"));
  // Off the short list (a body from stdin, help): the full command.
  EXPECT_THAT(run("send sam").err, HasSubstr("cannot run the full sotto"));
  EXPECT_THAT(run("inbox --help").err, HasSubstr("cannot run the full sotto"));
}

TEST_F(CliAgentTest, SocketIsOwnerOnlyAndRemovedOnStop) {
  auto agent = StartAgent("drr");
  struct stat st;
  ASSERT_EQ(lstat(Socket("drr").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  CliRun stop = Sotto("drr", "agent --stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  int status = 0;
  ASSERT_EQ(waitpid(agent->pid, &status, 0), agent->pid);
  agent->pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(lstat(Socket("drr").c_str(), &st), 0) << "socket file left behind";
  // Without the agent, commands open the profile themselves again.
  EXPECT_EQ(Sotto("drr", "inbox").exit_code, 0);
}

TEST_F(CliAgentTest, ConnectionFromAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  auto agent = StartAgent("drr");
  // As if the modes had been loosened by hand: only the peer check is left.
  chmod(Profile("drr").c_str(), 0755);
  chmod(Socket("drr").c_str(), 0666);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(2);
    char answer = 'n';  // 'n': no answer (refused); 'a': answered
    // Its own thin client would not even talk to another user's agent.
    if (!absl::IsPermissionDenied(cli::agent::ConnectToOwnAgent(Socket("drr")).status())) {
      answer = 'c';
    }
    absl::StatusOr<int> fd = cli::agent::Connect(Socket("drr"));
    if (fd.ok() && cli::agent::WriteFrame(*fd, cli::agent::kStatus, "").ok() &&
        cli::agent::ReadFrame(*fd).ok()) {
      answer = 'a';
    }
    (void)!write(pipe_fds[1], &answer, 1);
    _exit(0);
  }
  close(pipe_fds[1]);
  char answer = '?';
  ASSERT_EQ(read(pipe_fds[0], &answer, 1), 1);
  close(pipe_fds[0]);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(answer, 'n') << "another uid got an answer from the agent";
  EXPECT_THAT(agent->err(), HasSubstr("refused a connection from uid 65534"));
  // This user still gets in.
  chmod(Profile("drr").c_str(), 0700);
  EXPECT_EQ(SottoIn(dir_.string(), "drr", "inbox").exit_code, 0);
}

TEST_F(CliAgentTest, StaleSocketIsReplacedAndASecondAgentRefused) {
  // A socket file whose agent died without removing it.
  {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, Socket("drr").c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    close(fd);
  }
  auto agent = StartAgent("drr");
  EXPECT_EQ(SottoIn(dir_.string(), "drr", "inbox").exit_code, 0);

  CliRun second = Sotto("drr", "agent");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("a sotto agent already serves"));
  // The first one still serves.
  EXPECT_EQ(SottoIn(dir_.string(), "drr", "inbox").exit_code, 0);
}

TEST_F(CliAgentTest, LockedAgentIsUnlockedByThePassphraseThenRuns) {
  CliRun no_agent = Sotto("drr", "lock");
  EXPECT_EQ(no_agent.exit_code, 0);
  EXPECT_THAT(no_agent.out, HasSubstr("No sotto agent holds"));

  auto agent = StartAgent("drr");
  const std::string expected = Sotto("drr", "inbox --json").out;
  CliRun lock = SottoIn(dir_.string(), "drr", "lock");
  EXPECT_EQ(lock.exit_code, 0) << lock.err;
  EXPECT_THAT(lock.out, HasSubstr("Locked"));

  // No passphrase and no terminal: a clear error, nothing run.
  CliRun none = SottoIn(dir_.string(), "drr", "inbox --json");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("SOTTO_PASSPHRASE"));
  CliRun wrong = SottoIn(dir_.string(), "drr", "inbox --json", "SOTTO_PASSPHRASE=wrong");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("wrong passphrase"));
  EXPECT_THAT(wrong.err, HasSubstr("stays locked"));
  EXPECT_EQ(wrong.out, "");

  CliRun right = SottoIn(dir_.string(), "drr", "inbox --json", "SOTTO_PASSPHRASE='correct horse'");
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(right.out, expected);
  // Unlocked for the next command too.
  EXPECT_EQ(SottoIn(dir_.string(), "drr", "inbox --json").exit_code, 0);
}

TEST_F(CliAgentTest, AutoLockAppliesToTheAgent) {
  auto agent = StartAgent("drr", "--auto-lock 1s");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CliRun none = SottoIn(dir_.string(), "drr", "inbox");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("SOTTO_PASSPHRASE"));
  CliRun right = SottoIn(dir_.string(), "drr", "inbox", "SOTTO_PASSPHRASE='correct horse'");
  EXPECT_EQ(right.exit_code, 0) << right.err;
}

TEST_F(CliAgentTest, RelativePathsAreTheCallersNotTheAgents) {
  auto agent = StartAgent("drr");
  const std::filesystem::path elsewhere = dir_ / "elsewhere";
  std::filesystem::create_directories(elsewhere);
  std::ofstream(elsewhere / "ca.pem")
      << "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  CliRun found = SottoIn(elsewhere.string(), "drr", "--ca ca.pem inbox");
  EXPECT_EQ(found.exit_code, 0) << found.err;
  // Relative to the caller, so the agent's directory does not hold it.
  CliRun missing = SottoIn(dir_.string(), "drr", "--ca ca.pem inbox");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("--ca ca.pem: cannot be read"));
  // --profile relative to the caller finds the agent too.
  const std::string relative =
      absl::StrCat("cd ", Quote(dir_.string()), " && setsid -w env -u SOTTO_PASSPHRASE ",
                   SOTTO_CLI_BINARY, " --profile drr inbox </dev/null >/dev/null 2>&1");
  EXPECT_EQ(std::system(relative.c_str()), 0);
  // So does $SOTTO_PROFILE, and the agent names the caller's directory.
  const std::string out = (dir_ / "settings.out").string();
  const std::string by_env = absl::StrCat("cd / && SOTTO_PROFILE=", Quote(Profile("drr")),
                                          " setsid -w env -u SOTTO_PASSPHRASE ", SOTTO_CLI_BINARY,
                                          " settings </dev/null >", out, " 2>&1");
  EXPECT_EQ(std::system(by_env.c_str()), 0) << Slurp(out);
  EXPECT_THAT(Slurp(out), HasSubstr(absl::StrCat("Profile:       ", Profile("drr"), "\n")));
}

TEST_F(CliAgentTest, PasswdThroughTheAgent) {
  auto agent = StartAgent("drr");
  CliRun passwd = SottoIn(dir_.string(), "drr", "passwd",
                          "SOTTO_ALLOW_WEAK_PASSPHRASE=1 SOTTO_PASSPHRASE='correct horse' "
                          "SOTTO_NEW_PASSPHRASE='battery staple'");
  EXPECT_EQ(passwd.exit_code, 0) << passwd.err;
  EXPECT_THAT(passwd.out, HasSubstr("Passphrase changed."));
  ASSERT_EQ(SottoIn(dir_.string(), "drr", "lock").exit_code, 0);
  EXPECT_EQ(SottoIn(dir_.string(), "drr", "inbox", "SOTTO_PASSPHRASE='correct horse'").exit_code,
            1);
  CliRun fresh = SottoIn(dir_.string(), "drr", "inbox", "SOTTO_PASSPHRASE='battery staple'");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
}

TEST_F(CliAgentTest, DeleteAccountIsConfirmedHereThenTheAgentEnds) {
  auto agent = StartAgent("sam");
  CliRun typo = SottoIn(dir_.string(), "sam", "delete-account", "", "sma\n");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("Type your handle (sam)"));
  EXPECT_THAT(typo.err, HasSubstr("nothing was deleted"));
  CliRun deleted = SottoIn(dir_.string(), "sam", "delete-account", "", "sam\n");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_THAT(deleted.out, HasSubstr("Deleted the account sam"));
  // Nothing left to serve: the agent ends by itself.
  int status = -1;
  for (int i = 0; i < 250 && waitpid(agent->pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << agent->err();
  agent->pid = -1;
}

TEST_F(CliAgentTest, CommandsRunWhileSyncWaitStreams) {
  auto agent = StartAgent("drr");
  auto listening = Spawn("drr", "sync --wait 60", "listen", "unused");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(Sotto("sam", "send drr 'are you there?'").exit_code, 0);
  // The streamed message reaches the listening caller...
  for (int i = 0; i < 250 && listening->out().find("are you there?") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(listening->out(), HasSubstr("are you there?"));
  // ...and other commands answer meanwhile.
  const auto start = std::chrono::steady_clock::now();
  CliRun inbox = SottoIn(dir_.string(), "drr", "inbox");
  EXPECT_EQ(inbox.exit_code, 0) << inbox.err;
  EXPECT_THAT(inbox.out, HasSubstr("sam"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The listening caller hangs up: the agent stops listening for it, and
  // stops promptly itself.
  listening->Stop();
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(agent->Stop(), 0) << agent->err();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(5));
}

}  // namespace
}  // namespace sotto
