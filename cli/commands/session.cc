// lock: the agent's unlocked session forgets its keys now.

#include <memory>
#include <ostream>
#include <string>

#include "commands/commands.h"
#include "io.h"

namespace sotto::cli {
namespace {

absl::Status Lock(Context& context) {
  Caller* caller = CurrentCaller();
  if (caller == nullptr || caller->client == nullptr) {
    // Run here only when no agent answered on the profile's socket: no
    // process holds the keys, which is what the person wants.
    Out() << "No sotto agent holds " << context.profile_dir()
          << " open; nothing to lock (each command opens and closes the profile itself).\n";
    return absl::OkStatus();
  }
  if (absl::Status s = caller->lock ? caller->lock() : caller->client->Lock(); !s.ok()) return s;
  Out() << "Locked: the agent forgot the keys of " << caller->client->handle()
        << "; the next command asks for the passphrase.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterSessionCommands(CLI::App& app, Context& context) {
  CLI::App* lock = app.add_subcommand(
      "lock", "Lock the session of `sotto agent` (or `sotto desk`) now: it forgets the keys");
  lock->callback([&context] { context.Then([&context] { return Lock(context); }); });
}

}  // namespace sotto::cli
