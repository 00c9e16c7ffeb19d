#ifndef SOTTO_CLI_COMMANDS_COMMANDS_H_
#define SOTTO_CLI_COMMANDS_COMMANDS_H_

// The `sotto` subcommands, one group per file. Each Register function adds
// its subcommands to `app` with a callback that hands the command's work to
// `context` (Context::Then); `app` and `context` must outlive the parse and
// the run.

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "options.h"
#include "sotto/client.h"

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
// lock (the agent's session).
void RegisterSessionCommands(CLI::App& app, Context& context);

// What the thin client (cli/agent/forward.h) does in the caller's own
// process before forwarding, because it needs the caller's terminal:

// For a parsed send, letter or reply whose body comes from stdin, the
// editor or the terminal: that body, read here as the command would read
// it (the editor for a letter when stdin is a terminal). nullopt when
// `command` reads no body (the text was an argument, or another command).
std::optional<absl::StatusOr<std::string>> ReadBodyBeforeForwarding(const CLI::App& command);

// delete-account's confirmation: says what will be deleted (the account
// `handle` on `server`, the profile `profile_dir`) on Err() and returns the
// handle typed on In().
absl::StatusOr<std::string> AskForHandle(const std::string& handle, const std::string& server,
                                         const std::string& profile_dir);

// export, verify-export: the clinical record (record.cc).
void RegisterRecordCommands(CLI::App& app, Context& context);
// The policy of sotto/passphrase.h for a passphrase about to protect a
// profile (init, passwd, restore), with `handle` and the app's name as words
// an attacker tries first; `consequence` says what did not happen.
// SOTTO_ALLOW_WEAK_PASSPHRASE=1 skips it (the end-to-end tests).
absl::Status CheckNewPassphrase(const std::string& passphrase, const std::string& handle,
                                absl::string_view consequence);

// backup, restore (backup.cc).
void RegisterBackupCommands(CLI::App& app, Context& context);
// devices, link-device, remove-device (devices.cc).
void RegisterDeviceCommands(CLI::App& app, Context& context);
// `sotto init --link CODE`: a new profile joining an existing account.
absl::Status InitFromLinkCode(Context& context, const std::string& server,
                              const std::string& code, const std::string& device_name);

// `settings`' automatic backup options (backup.cc): added to `settings`,
// applied (and the first backup written) by ApplyBackupSettings, shown by
// PrintBackupSettings.
struct BackupSettingsArgs {
  std::string dir;
  std::string every;
  int keep = 0;  // 0: not given
  bool off = false;
  bool new_key = false;
};
void AddBackupSettingsOptions(CLI::App* settings, BackupSettingsArgs& args);
absl::Status ApplyBackupSettings(Client& client, const BackupSettingsArgs& args);
absl::Status PrintBackupSettings(Client& client);

// drafts, scheduled, invites (desk_data.cc).
void RegisterDeskDataCommands(CLI::App& app, Context& context);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_COMMANDS_COMMANDS_H_
