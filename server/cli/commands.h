#ifndef SOTTO_SERVER_CLI_COMMANDS_H_
#define SOTTO_SERVER_CLI_COMMANDS_H_

// sotto-server's command line, one file per command group, each registering
// its CLI11 options and returning what to run once parsed:
//   serve_command.cc    the root command: serve (flags, start, wait for a signal)
//   config_file.cc      --config FILE: the serving flags from TOML
//   check_config_command.cc  check-config: what serving would refuse, without serving
//   enrol_command.cc    enrol-therapist
//   audit_command.cc    audit [--verify]
//   account_commands.cc deactivate, reactivate
//   stats_command.cc    stats
//   backup_commands.cc  backup, restore
//   users_command.cc    users
//   migrate_command.cc  migrate (RocksDB into PostgreSQL)
// The operator commands act through server/operator's OperatorBackend (the
// running server's socket, or the database with no server). Each prints its
// errors as one line on stderr and returns the exit status (server/README.md).

#include <functional>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "server/rpc/server.h"
#include "sotto/log.h"

namespace sotto::server::cli {

// A registered subcommand and what to run when it was parsed.
struct Subcommand {
  CLI::App* app;             // Owned by the parent CLI::App.
  std::function<int()> run;  // Returns the exit status.
};

// What the serving flags and the config file amount to.
struct ServeConfig {
  rpc::ServerOptions server;
  log::Options log;
};

struct ServeCommand {
  // Serves until SIGINT/SIGTERM; returns the exit status (2 for a bad flag
  // or config value).
  std::function<int()> serve;
  // Applies --config (config_file.h) and checks every serving flag as
  // serve does before it starts; INVALID_ARGUMENT or NOT_FOUND with one
  // line per error. Call after parsing.
  std::function<absl::StatusOr<ServeConfig>()> load;
};

// Adds the serving flags (--config, --data-dir, --listen, --tls-*,
// --rate-*, --log-*, ...) to `app`.
ServeCommand AddServeFlags(CLI::App& app);

// check-config: `load`, then what the server would find wrong at start
// (data directory, key files, TLS certificate and key) without starting.
Subcommand AddCheckConfigCommand(CLI::App& app, std::function<absl::StatusOr<ServeConfig>()> load);

Subcommand AddEnrolCommand(CLI::App& app);
Subcommand AddAuditCommand(CLI::App& app);
Subcommand AddDeactivateCommand(CLI::App& app);
Subcommand AddReactivateCommand(CLI::App& app);
Subcommand AddStatsCommand(CLI::App& app);
Subcommand AddBackupCommand(CLI::App& app);
Subcommand AddRestoreCommand(CLI::App& app);
Subcommand AddUsersCommand(CLI::App& app);
Subcommand AddMigrateCommand(CLI::App& app);

}  // namespace sotto::server::cli

#endif  // SOTTO_SERVER_CLI_COMMANDS_H_
