// sotto-server: serves Sotto (the root command), or runs one operator
// command: enrol-therapist, audit, deactivate, reactivate, stats,
// check-config, backup, restore, users. Each lives
// in server/cli/ (commands.h lists them); server/README.md is the manual.
//
// Flag errors are one line on stderr, "sotto-server: WHAT (see --help)", and
// exit 2; --help and --version print to stdout and exit 0.

#include <algorithm>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "server/cli/commands.h"
#include "server/storage/schema_version.h"
#include "sotto/no_core_dumps.h"

int main(int argc, char** argv) {
  // Before anything reads a key file: the server and the offline operator
  // commands hold the audit MAC key and the code pepper in memory, which a
  // core file would carry to wherever core_pattern sends it.
  if (absl::Status s = sotto::DisableCoreDumps(); !s.ok()) {
    std::cerr << "sotto-server: cannot disable core dumps: " << s.message() << "\n";
    return 1;
  }
  // Debian's Abseil checks every mutex acquisition against a global
  // lock-order graph (GraphCycles, behind one global lock): measurable
  // overhead under load and no use in production. SottoServer::Start does
  // the same for in-process servers; here it also covers the subcommands.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  namespace cli = sotto::server::cli;
  CLI::App app{"Sotto store-and-forward server"};
  const cli::ServeCommand serve = cli::AddServeFlags(app);
  const cli::Subcommand subcommands[] = {
      cli::AddEnrolCommand(app),      cli::AddAuditCommand(app),
      cli::AddDeactivateCommand(app), cli::AddReactivateCommand(app),
      cli::AddStatsCommand(app),      cli::AddCheckConfigCommand(app, serve.load),
      cli::AddBackupCommand(app),     cli::AddRestoreCommand(app),
      cli::AddUsersCommand(app),      cli::AddMigrateCommand(app),
  };
  // The schema too: at an upgrade, what database this binary can open
  // (server/storage/schema_version.h).
  app.set_version_flag("--version", std::string("sotto-server ") + SOTTO_VERSION +
                                        " (database schema " +
                                        std::to_string(sotto::server::kSchemaVersion) + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: print as CLI11 does.
    if (e.get_exit_code() == 0) return app.exit(e);
    // CLI11's own exit codes (104-109) and two-line message would break the
    // documented contract: flag errors are one line on stderr and exit 2.
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << "sotto-server: " << what << " (see --help)\n";
    return 2;
  }
  for (const cli::Subcommand& command : subcommands) {
    if (command.app->parsed()) return command.run();
  }
  return serve.serve();
}
