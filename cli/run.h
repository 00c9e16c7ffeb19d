#ifndef SOTTO_CLI_RUN_H_
#define SOTTO_CLI_RUN_H_

// One run of a `sotto` command line, shared by main (the process's own
// command) and the agent (a command forwarded by a thin `sotto`): the same
// parser, the same commands, the same one-line errors.

#include <functional>
#include <optional>

#include "CLI/CLI.hpp"
#include "options.h"

namespace sotto::cli {

// The exit status RunCommandLine returns when the command stopped because
// the agent's profile is locked (io.h's Caller::locked); never a process's.
inline constexpr int kExitLocked = -2;

// The description, --version and "one subcommand" rule of `sotto`.
void ConfigureApp(CLI::App& app);

// Adds every command that works on a profile (all but `agent` and `desk`,
// which main adds) to `app`.
void RegisterCommands(CLI::App& app, Context& context);

// Parses `args` (argv without the program name, as CLI11 wants them in
// order) into `app`, then — unless `before_run` returns an exit status —
// runs the command. Errors are printed as `sotto: ...` on Err() (io.h).
// Returns the exit status, or kExitLocked (nothing printed) inside a
// locked agent.
int ParseAndRun(CLI::App& app, Context& context, std::vector<std::string> args,
                const std::function<std::optional<int>()>& before_run = nullptr);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_RUN_H_
