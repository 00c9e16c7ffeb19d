#ifndef SOTTO_CLI_AGENT_AGENT_COMMAND_H_
#define SOTTO_CLI_AGENT_AGENT_COMMAND_H_

#include "CLI/CLI.hpp"
#include "options.h"

namespace sotto::cli::agent {

// `sotto agent [--stop] [--auto-lock DURATION]`: opens the profile and
// serves its agent socket (agent_server.h) until SIGINT, SIGTERM or
// `sotto agent --stop`.
void RegisterAgentCommand(CLI::App& app, Context& context);

}  // namespace sotto::cli::agent

#endif  // SOTTO_CLI_AGENT_AGENT_COMMAND_H_
