#include "agent/agent_command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/agent_server.h"
#include "agent/forward.h"
#include "agent/protocol.h"
#include "io.h"
#include "time_parse.h"

namespace sotto::cli::agent {
namespace {

// SIGINT, SIGTERM, SIGHUP and `sotto agent --stop` write here; the main
// thread waits on it (a handler may run on any thread, gRPC's included).
int stop_pipe[2] = {-1, -1};

void WakeMain(int) {
  const char byte = 0;
  (void)!write(stop_pipe[1], &byte, 1);
}

absl::Status StopAgent(const std::string& dir) {
  absl::StatusOr<Frame> answer = Ask(SocketPath(dir), kQuit);
  if (!answer.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("no sotto agent runs on ", dir));
  }
  if (answer->type == kFailed) return DecodeStatus(answer->payload);
  Out() << "Stopped the sotto agent of " << dir << ".\n";
  return absl::OkStatus();
}

absl::Status Serve(Context& context, const std::string& auto_lock) {
  const std::string dir = AbsoluteDir(context.profile_dir());
  if (!auto_lock.empty()) {
    absl::StatusOr<absl::Duration> after = ParseDuration(auto_lock);
    absl::Duration seconds;  // also "30s", for trying it out
    if (!after.ok() && absl::ParseDuration(auto_lock, &seconds) && seconds > absl::ZeroDuration()) {
      after = seconds;
    }
    if (!after.ok()) return ForFlag("--auto-lock", after.status());
    context.set_auto_lock_after(*after);
  }
  // Before asking for the passphrase: a second agent is refused at once.
  if (absl::StatusOr<Frame> running = Ask(SocketPath(dir), kStatus); running.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("a sotto agent already serves ", dir,
                                                 "; stop it first with `sotto agent --stop`"));
  }
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  // After Open, so Ctrl-C at the passphrase prompt still simply quits.
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  struct sigaction on_signal {};
  on_signal.sa_handler = WakeMain;
  sigemptyset(&on_signal.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal_number, &on_signal, nullptr);
  AgentServer::Options options;
  options.on_stop_request = [] { WakeMain(0); };
  absl::StatusOr<std::unique_ptr<AgentServer>> server =
      AgentServer::Start(dir, *client, std::move(options));
  if (!server.ok()) return server.status();
  Out() << "sotto agent: serving " << (*client)->handle() << "'s profile on "
        << (*server)->socket_path() << "\n"
        << "Other sotto commands on " << dir << " now run here, without the passphrase. "
        << "Ctrl-C or `sotto agent --stop` ends it; `sotto lock` locks it.\n";
  Out().flush();
  char byte;
  while (read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  (*server)->Stop();
  Out() << "sotto agent: stopped.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterAgentCommand(CLI::App& app, Context& context) {
  CLI::App* agent = app.add_subcommand(
      "agent", "Keep the profile unlocked for other sotto commands (like ssh-agent), until Ctrl-C");
  struct AgentArgs {
    bool stop = false;
    std::string auto_lock;
  };
  auto a = std::make_shared<AgentArgs>();
  agent->add_flag("--stop", a->stop, "Stop the agent running on the profile");
  agent
      ->add_option("--auto-lock", a->auto_lock,
                   "Lock after this long without a command (default 15m); the next command asks "
                   "for the passphrase")
      ->type_name("DURATION");
  agent->callback([&context, a] {
    context.Then([&context, a] {
      return a->stop ? StopAgent(AbsoluteDir(context.profile_dir())) : Serve(context, a->auto_lock);
    });
  });
}

}  // namespace sotto::cli::agent
