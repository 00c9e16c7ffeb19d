// sotto — the command-line client. A thin shell over sotto::Client: parse,
// ask for the passphrase, call the library, print. The commands live in
// commands/, one file per group; the flags they share in options.h. Errors
// are one line on stderr (`sotto: <message>`, plus the detail with
// --verbose) and exit status 1.

#include <cstdlib>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "grpc/support/log.h"
#include "options.h"
#include "output.h"
#include "sotto/no_core_dumps.h"

#ifndef SOTTO_VERSION
#error "SOTTO_VERSION is set by cli/CMakeLists.txt from the CMake project version"
#endif

namespace sotto::cli {

int Main(int argc, char** argv) {
  CLI::App app{
      "sotto — end-to-end encrypted messages between you and your therapist.\n"
      "The passphrase comes from SOTTO_PASSPHRASE or a prompt.\n"
      "WHEN is +2h, +30m, +1d, 09:00, \"tomorrow 09:00\", \"2026-12-01 09:00\" (local time)\n"
      "or RFC 3339; a DURATION is 2h, 90m, 1d or 1h30m."};
  app.set_version_flag("--version", absl::StrCat("sotto ", SOTTO_VERSION),
                       "Print the version and exit");
  app.require_subcommand(1);
  Context context(app);
  RegisterAccountCommands(app, context);
  RegisterIdentityCommands(app, context);
  RegisterMessageCommands(app, context);
  RegisterCareCommands(app, context);
  RegisterQueueCommands(app, context);
  RegisterNotifyCommands(app, context);
  RegisterDeskDataCommands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    if (app.get_subcommands().empty()) {
      // CLI11 says "A subcommand is required" even for a typo; name the typo.
      const std::vector<std::string> rest = app.remaining();
      return Fail(absl::InvalidArgumentError(
          rest.empty() ? std::string("which command? see sotto --help")
                       : absl::StrCat("unknown command \"", rest.front(), "\"; see sotto --help")));
    }
    return Fail(absl::InvalidArgumentError(e.what()));
  }
  if (absl::Status s = context.RunAction(); !s.ok()) return Fail(s, context.verbose());
  return 0;
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
