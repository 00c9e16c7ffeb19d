// `sotto desk`: the web app (docs/DESK.md). Reads the flags and the
// passphrase, starts the DeskServer and, once the profile is open, the agent
// socket on the same Client; prints the URL and waits for Ctrl-C.

#include "desk_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_server.h"
#include "desk_server.h"
#include "secret.h"
#include "terminal.h"
#include "time_parse.h"

namespace sotto::desk {
namespace {

using cli::Context;

struct DeskArgs {
  int port = 0;
  bool no_open = false;
  std::string print_url_to;
  std::string auto_lock;
};

// --auto-lock as `sotto agent` takes it: "15m", "2h", also "30s" (to try
// it out, and for tests).
absl::StatusOr<absl::Duration> AutoLockAfter(const std::string& flag) {
  if (flag.empty()) return DeskOptions().auto_lock_after;
  absl::StatusOr<absl::Duration> after = cli::ParseDuration(flag);
  absl::Duration seconds;
  if (!after.ok() && absl::ParseDuration(flag, &seconds) && seconds > absl::ZeroDuration()) {
    after = seconds;
  }
  if (!after.ok()) return cli::ForFlag("--auto-lock", after.status());
  return after;
}

// The passphrase when one is at hand: SOTTO_PASSPHRASE, or the terminal.
// Empty (the desk starts locked, or in setup) when there is no profile yet
// or nobody to ask.
absl::StatusOr<std::string> StartPassphrase(const std::string& profile_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(profile_dir) / "CURRENT", ec)) {
    return std::string();
  }
  if (std::getenv("SOTTO_PASSPHRASE") == nullptr && !cli::StdinIsTerminal()) {
    return std::string();
  }
  return cli::Passphrase(/*confirm=*/false);
}

// Writes `text` to a new owner-only file at `path` (an old one is replaced,
// a symlink is not followed): the URL is the key to the desk, so no moment
// may exist in which another user could open the file and read it later.
absl::Status WriteOwnerOnly(absl::string_view flag, const std::string& path,
                            const std::string& text) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::PermissionDeniedError(absl::StrCat(flag, " ", path, ": cannot replace it"));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(flag, " ", path, ": cannot create it"));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) return absl::UnavailableError(absl::StrCat(flag, " ", path, ": cannot write"));
  return absl::OkStatus();
}

// Opens the browser on the desk without putting the URL on a command line,
// where every local user could read it in /proc/PID/cmdline: xdg-open gets
// an owner-only page in the profile directory that forwards to the URL (as
// Jupyter does). The child starts with the signals the desk blocked
// unblocked and with no descriptor of ours but 0-2 (the browser it starts
// must not keep the desk's listening socket).
void OpenBrowser(const std::string& profile_dir, const std::string& url) {
  const std::string page = profile_dir + "/desk-open.html";
  if (!WriteOwnerOnly("desk", page,
                      absl::StrCat("<!doctype html><meta charset=\"utf-8\">"
                                   "<meta http-equiv=\"refresh\" content=\"0;url=",
                                   url, "\"><title>Sotto Desk</title>\n"))
           .ok()) {
    return;  // The printed URL is the way in.
  }
  const pid_t pid = ::fork();
  if (pid > 0) ::waitpid(pid, nullptr, 0);  // the middle child exits at once
  if (pid != 0) return;
  // Twice, so that xdg-open is nobody's zombie once it ends.
  if (::fork() != 0) ::_exit(0);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  const int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
  }
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  ::execlp("xdg-open", "xdg-open", page.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

// The agent socket (cli/agent/) on the desk's Client, so that `sotto`
// commands on this profile run here, warm, instead of failing because the
// desk holds the profile. Started when the profile is first open.
class AgentHolder {
 public:
  AgentHolder() = default;
  AgentHolder(const AgentHolder&) = delete;
  AgentHolder& operator=(const AgentHolder&) = delete;
  ~AgentHolder() { Stop(); }

  void Start(const std::string& profile_dir, Session& session, Client* client) {
    {
      // A web setup finishing after Ctrl-C must not start a new agent on a
      // Client about to be destroyed.
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
    }
    cli::agent::AgentServer::Options options;
    // `sotto agent --stop`, or a forwarded delete-account: end the desk as
    // Ctrl-C would (the main thread waits for SIGTERM).
    options.on_stop_request = [] { ::kill(::getpid(), SIGTERM); };
    // `sotto lock` and the passphrase a thin client sends go through the
    // Session, so the page hears of them (the `locked`/`unlocked` events)
    // and the settings it shows are read again at the unlock.
    options.lock = [&session] { return session.Lock(); };
    options.unlock = [&session](const std::string& passphrase) {
      absl::Status s = session.Unlock(passphrase);
      // The agent protocol's wrong passphrase is the Client's
      // PERMISSION_DENIED (docs/DESK.md, frames); the page's is 401.
      return absl::IsUnauthenticated(s) ? absl::PermissionDeniedError(s.message()) : s;
    };
    options.after_run = [&session] { session.RefreshSettings(); };
    auto agent = cli::agent::AgentServer::Start(profile_dir, client, std::move(options));
    if (!agent.ok()) {
      std::cerr << "sotto desk: no agent socket (" << agent.status().message()
                << "); other sotto commands on this profile will not run while the desk does\n";
      return;
    }
    absl::MutexLock lock(&mu_);
    if (stopped_) {
      (*agent)->Stop();
      return;
    }
    agent_ = *std::move(agent);
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    if (agent_ != nullptr) agent_->Stop();
  }

 private:
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<cli::agent::AgentServer> agent_ ABSL_GUARDED_BY(mu_);
};

absl::Status RunDesk(Context& context, const DeskArgs& a) {
  absl::StatusOr<cli::TlsPems> pems = context.ReadTls();
  if (!pems.ok()) return pems.status();
  DeskOptions options;
  options.profile_dir = context.profile_dir();
  options.port = a.port;
  absl::StatusOr<absl::Duration> auto_lock = AutoLockAfter(a.auto_lock);
  if (!auto_lock.ok()) return auto_lock.status();
  options.auto_lock_after = *auto_lock;
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = context.tls().system_roots;
  options.tls_crl_pem = std::move(pems->crl_pem);
  absl::StatusOr<std::string> passphrase = StartPassphrase(options.profile_dir);
  if (!passphrase.ok()) return passphrase.status();
  options.passphrase = *std::move(passphrase);
  cli::Wipe(*passphrase);
  AgentHolder agent;
  options.on_first_open = [&agent, dir = context.profile_dir()](Session& session, Client* client) {
    agent.Start(dir, session, client);
  };
  // Ctrl-C and SIGTERM are waited for below; blocked before the server's
  // threads start, so none of them takes the signal instead.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  absl::StatusOr<std::unique_ptr<DeskServer>> server = DeskServer::Start(std::move(options));
  if (!server.ok()) return server.status();
  // The agent serves the server's Client: it stops first on every way out.
  struct StopAgentFirst {
    AgentHolder& agent;
    ~StopAgentFirst() { agent.Stop(); }
  } stop_agent_first{agent};
  const std::string url = (*server)->url();
  std::cout << "Sotto Desk: " << url << std::endl;
  if (!a.print_url_to.empty()) {
    if (absl::Status s = WriteOwnerOnly("--print-url-to", a.print_url_to, url + "\n"); !s.ok()) {
      return s;
    }
  }
  if (!a.no_open) OpenBrowser(context.profile_dir(), url);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  agent.Stop();
  (*server)->Stop();
  return absl::OkStatus();
}

}  // namespace

void RegisterDeskCommand(CLI::App& app, Context& context) {
  CLI::App* desk = app.add_subcommand(
      "desk",
      "Open Sotto Desk, the web app, on this computer: serves it on 127.0.0.1 only, prints the "
      "URL to open and opens the browser. Ctrl-C ends it");
  auto a = std::make_shared<DeskArgs>();
  desk->add_option("--port", a->port, "Port on 127.0.0.1 (default: any free one)")
      ->check(CLI::Range(0, 65535));
  desk->add_flag("--no-open", a->no_open, "Do not open the browser; only print the URL");
  desk->add_option("--print-url-to", a->print_url_to,
                   "Also write the URL (it holds the key to the desk) to FILE, owner-only")
      ->type_name("FILE");
  desk->add_option("--auto-lock", a->auto_lock,
                   "Lock after this long without use (default 15m); the page then asks for the "
                   "passphrase")
      ->type_name("DURATION");
  desk->callback([&context, a] { context.Then([&context, a] { return RunDesk(context, *a); }); });
}

}  // namespace sotto::desk
