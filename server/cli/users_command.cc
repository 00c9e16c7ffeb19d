// sotto-server users --data-dir DIR [--json]
//
// lists the accounts, one a line in handle order:
//   HANDLE  ROLE  active|deactivated  devices 1,2
// or with --json one JSON object a line:
//   {"handle":"ana","role":"therapist","deactivated":false,"devices":[1,2]}
// Nothing else is shown: no keys, no care links, nothing about messages.
// Works through the running server's operator socket, or with no server on
// the database opened read-only. Errors: one line on stderr, exit 1.

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct UsersOptions {
  std::string data_dir;
  bool json = false;
};

// Handles are [a-z0-9_-] (limits.h) and roles fixed words: nothing to escape.
std::string Line(const UserSummary& u, bool json) {
  if (json) {
    return "{\"handle\":\"" + u.handle + "\",\"role\":\"" + std::string(RoleName(u.role)) +
           "\",\"deactivated\":" + (u.deactivated ? "true" : "false") + ",\"devices\":[" +
           absl::StrJoin(u.device_ids, ",") + "]}";
  }
  return u.handle + "  " + std::string(RoleName(u.role)) + "  " +
         (u.deactivated ? "deactivated" : "active") + "  devices " +
         (u.device_ids.empty() ? "none" : absl::StrJoin(u.device_ids, ","));
}

}  // namespace

Subcommand AddUsersCommand(CLI::App& app) {
  auto o = std::make_shared<UsersOptions>();
  CLI::App* cmd = app.add_subcommand(
      "users", "list the accounts: handle, role, state, devices (no content, no keys)");
  AddDataDirOption(cmd, &o->data_dir);
  cmd->add_flag("--json", o->json, "one JSON object per line");
  return {cmd, [o] {
            absl::Status s =
                OpenOperatorBackend(o->data_dir)->ForEachUser([&](const UserSummary& u) {
                  std::cout << Line(u, o->json) << "\n";
                  return absl::OkStatus();
                });
            std::cout.flush();
            return s.ok() ? 0 : Fail("users", s);
          }};
}

}  // namespace sotto::server::cli
