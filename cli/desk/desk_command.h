#ifndef SOTTO_CLI_DESK_DESK_COMMAND_H_
#define SOTTO_CLI_DESK_DESK_COMMAND_H_

#include "CLI/CLI.hpp"
#include "options.h"

namespace sotto::desk {

// `sotto desk [--port P] [--no-open] [--print-url-to FILE]` (docs/CLI.md):
// serves Sotto Desk on 127.0.0.1 and the profile's agent socket until
// SIGINT or SIGTERM. Added by main only: a desk never runs inside an agent.
void RegisterDeskCommand(CLI::App& app, cli::Context& context);

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_DESK_COMMAND_H_
