#ifndef SOTTO_CLI_AGENT_FORWARD_H_
#define SOTTO_CLI_AGENT_FORWARD_H_

// The thin client: a `sotto` command line handed to the agent that holds
// the profile open (agent_server.h), instead of opening the profile here.
//
// What needs this process's terminal happens here first, then the command
// is forwarded: a message or letter body typed or written in $EDITOR (sent
// as the command's stdin), `passwd`'s passphrases (sent with the request),
// `delete-account`'s typed confirmation (sent as --confirm). Everything else
// — parsing of times, paths relative to our working directory, the local
// time zone — the agent does as this process would: it gets our cwd and TZ.
// When the agent's session is locked, the passphrase is asked here
// (SOTTO_PASSPHRASE or the terminal), sent as an unlock, and the command
// sent again.

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "agent/protocol.h"

namespace sotto::cli::agent {

// Runs the parsed command line `args` (argv without the program name; `app`
// parsed them) through the agent on `profile_dir`, printing its output
// here. Returns the exit status, or nullopt when no agent answers on the
// profile's socket (the caller runs the command itself).
std::optional<int> ForwardToAgent(const std::string& profile_dir, const CLI::App& app,
                                  std::vector<std::string> args);

// `profile_dir` made absolute against this process's working directory.
std::string AbsoluteDir(const std::string& profile_dir);

// One request without output: the agent's final frame (kInfo, kExit or
// kFailed). UNAVAILABLE/NOT_FOUND when no agent answers.
absl::StatusOr<Frame> Ask(const std::string& socket_path, char type,
                          const std::string& payload = "");

}  // namespace sotto::cli::agent

#endif  // SOTTO_CLI_AGENT_FORWARD_H_
