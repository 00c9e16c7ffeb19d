// /api/backup: automatic backups (as `sotto settings --backup-*`), a backup
// now (as `sotto backup --out FILE`) and a new recovery key (docs/DESK.md).
// A recovery key is in the one answer that made it and nowhere else: the
// page shows it once and keeps it in no storage.

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api.h"
#include "secret.h"
#include "sotto/backup.h"

namespace sotto::desk {
namespace {

constexpr char kWriteItDown[] =
    "Write it down on paper and keep it apart from the backups. Without it the backups cannot "
    "be opened: nobody, not your therapist's practice nor the server's operator, can recover it.";

absl::StatusOr<std::string> StatusJson(Client& client) {
  absl::StatusOr<AutoBackupStatus> s = client.GetAutoBackup();
  if (!s.ok()) return s.status();
  Json j = {
      {"enabled", s->enabled},
      {"dir", s->enabled ? Json(s->dir) : Json()},
      {"every_minutes", s->enabled ? Json(absl::ToInt64Minutes(s->every)) : Json()},
      {"keep", s->enabled ? Json(s->keep) : Json()},
      {"last_backup_ms",
       s->last_backup == absl::InfinitePast() ? Json() : Json(absl::ToUnixMillis(s->last_backup))},
      {"last_error", s->last_error.empty() ? Json() : Json(s->last_error)}};
  return Dump(j);
}

// What a SetAutoBackup made: the key (once) and the first backup.
std::string SetupJson(Client& client, AutoBackupSetup& setup) {
  cli::WipeOnExit wipe(setup.recovery_key);
  Json j = {{"recovery_key", setup.recovery_key.empty() ? Json() : Json(setup.recovery_key)},
            {"advice", setup.recovery_key.empty() ? Json() : Json(kWriteItDown)},
            {"written", nullptr},
            {"write_error", nullptr}};
  absl::StatusOr<std::string> written = client.BackUpIfDue();
  if (!written.ok()) {
    j["write_error"] = std::string(written.status().message());
  } else if (!written->empty()) {
    j["written"] = *written;
  }
  std::string out = Dump(j);
  return out;
}

void AddAutoBackupRoutes(Api& api) {
  api.Route("GET", "/api/backup", [](Client& client, const httplib::Request&, const Json&) {
    return StatusJson(client);
  });
  // Turns automatic backups on or changes them: "dir" (absolute), "every_minutes"
  // (at least 1; default 1440, or the current), "keep" (1..1000; default 7, or
  // the current).
  api.Route(
      "PUT", "/api/backup",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<AutoBackupStatus> current = client.GetAutoBackup();
        if (!current.ok()) return current.status();
        AutoBackupOptions options;
        absl::StatusOr<std::string> dir = AbsolutePathMember(body, "dir");
        if (!dir.ok()) return dir.status();
        options.dir = *dir;
        const int64_t every_default =
            current->enabled ? absl::ToInt64Minutes(current->every) : 24 * 60;
        absl::StatusOr<int64_t> every = IntMember(body, "every_minutes", every_default, true);
        if (!every.ok()) return every.status();
        if (*every < 1 || *every > 366 * 24 * 60) {
          return absl::InvalidArgumentError("\"every_minutes\" must be 1 to 527040 (a year)");
        }
        options.every = absl::Minutes(*every);
        absl::StatusOr<int64_t> keep =
            IntMember(body, "keep", current->enabled ? current->keep : 7, true);
        if (!keep.ok()) return keep.status();
        if (*keep < 1 || *keep > 1000) {
          return absl::InvalidArgumentError("\"keep\" must be 1 to 1000");
        }
        options.keep = static_cast<int>(*keep);
        absl::StatusOr<AutoBackupSetup> setup = client.SetAutoBackup(options);
        if (!setup.ok()) return setup.status();
        return SetupJson(client, *setup);
      });
  api.Route(
      "DELETE", "/api/backup",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = client.DisableAutoBackup(); !s.ok()) return s;
        return std::string("{}\n");
      });
  // A new recovery key for the automatic backups (settings kept); those
  // written before stay under the old key.
  api.Route(
      "POST", "/api/backup/recovery-key",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        absl::StatusOr<AutoBackupStatus> current = client.GetAutoBackup();
        if (!current.ok()) return current.status();
        if (!current->enabled) {
          return absl::FailedPreconditionError(
              "automatic backups are off: turn them on first (that makes a recovery key)");
        }
        AutoBackupOptions options;
        options.dir = current->dir;
        options.every = current->every;
        options.keep = current->keep;
        options.new_recovery_key = true;
        absl::StatusOr<AutoBackupSetup> setup = client.SetAutoBackup(options);
        if (!setup.ok()) return setup.status();
        return SetupJson(client, *setup);
      });
}

void AddBackupNowRoute(Api& api) {
  // One backup into "path" (absolute, must not exist) under a new recovery
  // key, as `sotto backup --out`.
  api.Route(
      "POST", "/api/backup/now",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> path = AbsolutePathMember(body, "path");
        if (!path.ok()) return path.status();
        BackupOptions options;
        options.out_path = *path;
        absl::StatusOr<BackupResult> made = client.Backup(options);
        if (!made.ok()) return made.status();
        cli::WipeOnExit wipe(made->recovery_key);
        return Dump({{"path", *path},
                     {"records", made->written.records},
                     {"bytes", made->written.bytes},
                     {"recovery_key", made->recovery_key},
                     {"advice", kWriteItDown}});
      });
}

// In setup: restore a backup into this desk's profile directory.
void AddRestoreRoute(Api& api) {
  Session& session = api.session();
  api.RouteAlways(
      "POST", "/api/setup/restore",
      [&session](const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        RestoreRequest restore;
        cli::WipeOnExit wipe(restore.passphrase);
        cli::WipeOnExit wipe_key(restore.recovery_key);
        absl::StatusOr<std::string> path = AbsolutePathMember(body, "backup_path");
        if (!path.ok()) return path.status();
        restore.backup_path = *std::move(path);
        for (auto [name, field] : {std::pair{"recovery_key", &restore.recovery_key},
                                   {"passphrase", &restore.passphrase}}) {
          absl::StatusOr<std::string> value = StringMember(body, name);
          if (!value.ok()) return value.status();
          *field = *std::move(value);
        }
        absl::StatusOr<std::string> server = StringMember(body, "server", /*optional=*/true);
        if (!server.ok()) return server.status();
        restore.server = *std::move(server);
        if (absl::Status s = session.Restore(restore); !s.ok()) return s;
        return std::string("{}\n");
      });
}

}  // namespace

void AddBackupRoutes(Api& api) {
  AddAutoBackupRoutes(api);
  AddBackupNowRoute(api);
  AddRestoreRoute(api);
}

}  // namespace sotto::desk
