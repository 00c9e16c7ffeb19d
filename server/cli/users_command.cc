// sotto-server users --data-dir DIR [--json]
//
// lists the accounts, one a line in handle order:
//   HANDLE  ROLE  active|deactivated  devices 1,2  last seen 2026-12-06 14:00 UTC
// or with --json one JSON object a line:
//   {"handle":"ana","role":"therapist","deactivated":false,"devices":[1,2],
//    "last_seen_hour":"2026-12-06T14:00Z"}
// "last seen" is the hour of the account's last authenticated call since
// the running server started ("not since the server started"; "unknown"
// with no server running): the server keeps it in memory only
// (server/domain/last_seen.h). Nothing else is shown: no keys, no care
// links, nothing about messages.
// Works through the running server's operator socket, or with no server on
// the database opened read-only. Errors: one line on stderr, exit 1.

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct UsersOptions {
  std::string data_dir;
  bool json = false;
};

// The hour `ms` starts, in UTC: "2026-12-06 14:00" (or with the ISO `T`
// and `Z` for JSON).
std::string Hour(int64_t ms, bool iso) {
  return absl::FormatTime(iso ? "%Y-%m-%dT%H:%MZ" : "%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

// Handles are [a-z0-9_-] (limits.h) and roles fixed words: nothing to escape.
std::string Line(const UserSummary& u, bool json, bool live) {
  if (json) {
    return "{\"handle\":\"" + u.handle + "\",\"role\":\"" + std::string(RoleName(u.role)) +
           "\",\"deactivated\":" + (u.deactivated ? "true" : "false") + ",\"devices\":[" +
           absl::StrJoin(u.device_ids, ",") + "],\"last_seen_hour\":" +
           (u.last_seen_hour_ms > 0 ? "\"" + Hour(u.last_seen_hour_ms, true) + "\"" : "null") + "}";
  }
  return u.handle + "  " + std::string(RoleName(u.role)) + "  " +
         (u.deactivated ? "deactivated" : "active") + "  devices " +
         (u.device_ids.empty() ? "none" : absl::StrJoin(u.device_ids, ",")) + "  last seen " +
         (u.last_seen_hour_ms > 0 ? Hour(u.last_seen_hour_ms, false)
          : live                  ? "not since the server started"
                                  : "unknown (no server running)");
}

}  // namespace

Subcommand AddUsersCommand(CLI::App& app) {
  auto o = std::make_shared<UsersOptions>();
  CLI::App* cmd = app.add_subcommand(
      "users", "list the accounts: handle, role, state, devices (no content, no keys)");
  AddDataDirOption(cmd, &o->data_dir);
  cmd->add_flag("--json", o->json, "one JSON object per line");
  return {cmd, [o] {
            std::unique_ptr<OperatorBackend> backend = OpenOperatorBackend(o->data_dir);
            const bool live = backend->ServerRunning();
            absl::Status s = backend->ForEachUser([&](const UserSummary& u) {
              std::cout << Line(u, o->json, live) << "\n";
              return absl::OkStatus();
            });
            std::cout.flush();
            return s.ok() ? 0 : Fail("users", s);
          }};
}

}  // namespace sotto::server::cli
