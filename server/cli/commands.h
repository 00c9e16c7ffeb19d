#ifndef SOTTO_SERVER_CLI_COMMANDS_H_
#define SOTTO_SERVER_CLI_COMMANDS_H_

// sotto-server's command line, one file per command group, each registering
// its CLI11 options and returning what to run once parsed:
//   serve_command.cc    the root command: serve (flags, start, wait for a signal)
//   enrol_command.cc    enrol-therapist
//   audit_command.cc    audit [--verify]
//   account_commands.cc deactivate, reactivate
//   stats_command.cc    stats
//   backup_commands.cc  backup, restore
//   users_command.cc    users
// The operator commands act through server/operator's OperatorBackend (the
// running server's socket, or the database with no server). Each prints its
// errors as one line on stderr and returns the exit status (server/README.md).

#include <functional>

#include "CLI/CLI.hpp"

namespace sotto::server::cli {

// A registered subcommand and what to run when it was parsed.
struct Subcommand {
  CLI::App* app;             // Owned by the parent CLI::App.
  std::function<int()> run;  // Returns the exit status.
};

// Adds the serving flags (--data-dir, --listen, --tls-*, --rate-*, ...) to
// `app`; the result serves until SIGINT/SIGTERM and returns the exit status
// (2 for a bad flag value).
std::function<int()> AddServeFlags(CLI::App& app);

Subcommand AddEnrolCommand(CLI::App& app);
Subcommand AddAuditCommand(CLI::App& app);
Subcommand AddDeactivateCommand(CLI::App& app);
Subcommand AddReactivateCommand(CLI::App& app);
Subcommand AddStatsCommand(CLI::App& app);
Subcommand AddBackupCommand(CLI::App& app);
Subcommand AddRestoreCommand(CLI::App& app);
Subcommand AddUsersCommand(CLI::App& app);

}  // namespace sotto::server::cli

#endif  // SOTTO_SERVER_CLI_COMMANDS_H_
