// `sotto desk`: the web app (docs/DESK.md). Reads the flags and the
// passphrase, starts the DeskServer and, once the profile is open, the agent
// socket on the same Client; prints the URL and waits for Ctrl-C.

#include "desk_command.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_server.h"
#include "desk_server.h"
#include "secret.h"
#include "terminal.h"

namespace sotto::desk {
namespace {

using cli::Context;

struct DeskArgs {
  int port = 0;
  bool no_open = false;
  std::string print_url_to;
};

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

absl::Status WriteUrlFile(const std::string& path, const std::string& url) {
  // Owner-only before the token is in it: the URL is the key to the desk.
  std::ofstream(path, std::ios::trunc).close();
  if (::chmod(path.c_str(), 0600) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("--print-url-to ", path, ": cannot chmod"));
  }
  std::ofstream out(path, std::ios::trunc);
  out << url << "\n";
  if (!out.flush())
    return absl::UnavailableError(absl::StrCat("--print-url-to ", path, ": cannot write"));
  return absl::OkStatus();
}

// The agent socket (cli/agent/) on the desk's Client, so that `sotto`
// commands on this profile run here, warm, instead of failing because the
// desk holds the profile. Started when the profile is first open.
class AgentHolder {
 public:
  void Start(const std::string& profile_dir, Client* client) {
    cli::agent::AgentServer::Options options;
    // `sotto agent --stop`, or a forwarded delete-account: end the desk as
    // Ctrl-C would (the main thread waits for SIGTERM).
    options.on_stop_request = [] { ::kill(::getpid(), SIGTERM); };
    auto agent = cli::agent::AgentServer::Start(profile_dir, client, std::move(options));
    if (!agent.ok()) {
      std::cerr << "sotto desk: no agent socket (" << agent.status().message()
                << "); other sotto commands on this profile will not run while the desk does\n";
      return;
    }
    absl::MutexLock lock(&mu_);
    agent_ = *std::move(agent);
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    if (agent_ != nullptr) agent_->Stop();
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<cli::agent::AgentServer> agent_ ABSL_GUARDED_BY(mu_);
};

absl::Status RunDesk(Context& context, const DeskArgs& a) {
  absl::StatusOr<cli::TlsPems> pems = context.ReadTls();
  if (!pems.ok()) return pems.status();
  DeskOptions options;
  options.profile_dir = context.profile_dir();
  options.port = a.port;
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = context.tls().system_roots;
  options.tls_crl_pem = std::move(pems->crl_pem);
  absl::StatusOr<std::string> passphrase = StartPassphrase(options.profile_dir);
  if (!passphrase.ok()) return passphrase.status();
  options.passphrase = *std::move(passphrase);
  cli::Wipe(*passphrase);
  AgentHolder agent;
  options.on_first_open = [&agent, dir = context.profile_dir()](Client* client) {
    agent.Start(dir, client);
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
  const std::string url = (*server)->url();
  std::cout << "Sotto Desk: " << url << std::endl;
  if (!a.print_url_to.empty()) {
    if (absl::Status s = WriteUrlFile(a.print_url_to, url); !s.ok()) return s;
  }
  if (!a.no_open) {
    // The URL holds only [A-Za-z0-9_:/.?=-]: safe inside single quotes.
    const std::string command = "xdg-open '" + url + "' >/dev/null 2>&1 &";
    if (std::system(command.c_str()) != 0) {
      // No browser to open: the printed URL is the way in.
    }
  }
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
  desk->callback([&context, a] { context.Then([&context, a] { return RunDesk(context, *a); }); });
}

}  // namespace sotto::desk
