// sotto — the command-line client. A thin shell over sotto::Client: parse,
// ask for the passphrase, call the library, print. The commands live in
// commands/, one file per group; the flags they share in options.h. Errors
// are one line on stderr (`sotto: <message>`, plus the detail with
// --verbose) and exit status 1. When `sotto agent` (or `sotto desk`) holds
// the profile open, a parsed command is forwarded to it (agent/forward.h)
// and runs there, on the open session.

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "agent/agent_command.h"
#include "agent/forward.h"
#include "desk/desk_command.h"
#include "grpc/support/log.h"
#include "options.h"
#include "output.h"
#include "run.h"
#include "sotto/no_core_dumps.h"

namespace sotto::cli {

int Main(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app);
  Context context(app);
  RegisterCommands(app, context);
  agent::RegisterAgentCommand(app, context);
  desk::RegisterDeskCommand(app, context);
  const std::vector<std::string> args(argv + 1, argv + argc);
  // Parsed here (a parse error stays local and instant); then, when an
  // agent holds the profile open, the command runs there
  // (cli/agent/forward.h), else here as always.
  return ParseAndRun(app, context, args, [&]() -> std::optional<int> {
    const std::string name = app.get_subcommands().front()->get_name();
    if (name == "init" || name == "restore" || name == "agent" || name == "desk") {
      return std::nullopt;
    }
    return agent::ForwardToAgent(context.profile_dir(), app, args);
  });
}

}  // namespace sotto::cli

int main(int argc, char** argv) {
  // Before any passphrase is read or key loaded: a core file, or another
  // process of the same user reading /proc/PID/mem, would otherwise get the
  // passphrase, the device secret and decrypted messages.
  if (absl::Status s = sotto::DisableCoreDumps(); !s.ok()) return sotto::cli::Fail(s);
  // gRPC logs its own view of a failure on stderr ("Handshake failed with
  // fatal error ..."); the CLI reports each error once, as one line that
  // names the reason. GRPC_VERBOSITY=DEBUG (or any value) keeps gRPC's log
  // for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  return sotto::cli::Main(argc, argv);
}
