#ifndef SOTTO_CLI_COMMANDS_COMMANDS_H_
#define SOTTO_CLI_COMMANDS_COMMANDS_H_

// The `sotto` subcommands, one group per file. Each Register function adds
// its subcommands to `app` with a callback that hands the command's work to
// `context` (Context::Then); `app` and `context` must outlive the parse and
// the run.

#include "CLI/CLI.hpp"
#include "options.h"

namespace sotto::cli {

// init, passwd, settings, delete-account.
void RegisterAccountCommands(CLI::App& app, Context& context);
// safety-number, verify, trust.
void RegisterIdentityCommands(CLI::App& app, Context& context);
// send, letter, reply, cancel, sync, inbox, read.
void RegisterMessageCommands(CLI::App& app, Context& context);
// invite, accept-invite, links, unlink, policy, policy set.
void RegisterCareCommands(CLI::App& app, Context& context);
// `policy set`, under `policy` (policy_set.cc).
void RegisterPolicySet(CLI::App* policy, Context& context);
// queue, snooze, close, claim (therapists).
void RegisterQueueCommands(CLI::App& app, Context& context);
// notify (email notifications without content).
void RegisterNotifyCommands(CLI::App& app, Context& context);
// drafts, scheduled, invites (desk_data.cc).
void RegisterDeskDataCommands(CLI::App& app, Context& context);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_COMMANDS_COMMANDS_H_
