// backup, restore: the whole profile into one file under a recovery key, and
// back into a new profile directory (sotto/backup.h, docs/BACKUP.md).

#include "sotto/backup.h"

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "secret.h"
#include "sanitize.h"
#include "terminal.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

// "\r12000 records, 3.1 MB" on stderr, overwritten in place; a newline ends it.
std::function<void(const BackupProgress&)> ProgressLine(std::string verb) {
  return [verb](const BackupProgress& p) {
    Err() << "\r" << verb << " " << p.records << " records, "
          << absl::StrCat(p.bytes / 100000 / 10.0) << " MB" << std::flush;
  };
}

absl::Status Backup(Context& context, const std::string& out) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  BackupOptions options;
  options.out_path = ResolvePath(out);
  options.progress = ProgressLine("Backing up:");
  absl::StatusOr<BackupResult> made = (*client)->Backup(options);
  Err() << "\n";
  if (!made.ok()) return made.status();
  WipeOnExit wipe_key(made->recovery_key);
  Out() << "Backup written to " << options.out_path << " (" << made->written.records << " records, "
        << made->written.bytes << " bytes).\n\n"
        << "Recovery key - shown only now, stored nowhere:\n\n"
        << "    " << made->recovery_key.substr(0, 24) << "\n"
        << "    " << made->recovery_key.substr(25) << "\n\n"
        << "Write it down on paper and keep it apart from the backup file. Without it the\n"
        << "backup cannot be opened: nobody, not your therapist's practice nor the server's\n"
        << "operator, can recover it. Restore with: sotto --profile NEW_DIR restore "
        << options.out_path << "\n";
  return absl::OkStatus();
}

// --recovery-key-file, else SOTTO_RECOVERY_KEY, else the terminal.
absl::StatusOr<std::string> RecoveryKey(const std::string& key_file) {
  if (!key_file.empty()) {
    std::ifstream in(ResolvePath(key_file), std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read the recovery key file ", key_file));
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  if (std::optional<std::string> env = TakeCallerSecret("SOTTO_RECOVERY_KEY")) return *env;
  return AskRecoveryKey();
}

absl::Status Restore(Context& context, const std::string& file, const std::string& key_file,
                     const std::string& server) {
  absl::StatusOr<TlsPems> pems = context.ReadTls();
  if (!pems.ok()) return pems.status();
  absl::StatusOr<std::string> key = RecoveryKey(key_file);
  if (!key.ok()) return key.status();
  WipeOnExit wipe_key(*key);
  Err() << "The restored profile needs a passphrase (it may differ from the old one).\n";
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/true);
  if (!passphrase.ok()) return passphrase.status();
  WipeOnExit wipe_passphrase(*passphrase);
  if (absl::Status s = CheckNewPassphrase(*passphrase, "", "nothing was restored"); !s.ok()) {
    return s;
  }
  RestoreOptions options;
  WipeOnExit wipe_copy(options.passphrase);
  WipeOnExit wipe_key_copy(options.recovery_key);
  options.backup_path = ResolvePath(file);
  options.recovery_key = *key;
  options.profile_dir = context.profile_dir();
  options.passphrase = *passphrase;
  options.server_address = server;
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = context.tls().system_roots;
  options.progress = ProgressLine("Reading:");
  absl::StatusOr<RestoreResult> restored = Client::Restore(options);
  Err() << "\n";
  if (!restored.ok()) return restored.status();
  Out() << "Restored " << restored->client->handle() << " into " << context.profile_dir() << " ("
        << restored->records << " records): history, contacts and their verification are back.\n";
  if (restored->network_status.ok()) {
    Out() << "New sessions started with " << restored->sessions_started
          << " contact(s); messages go both ways again.\n";
  } else {
    Out() << "Could not reach everyone yet (" << restored->network_status.message()
          << "); the next message to each contact starts a new session.\n";
  }
  return absl::OkStatus();
}

void PrintRecoveryKey(const std::string& key) {
  Out() << "Recovery key - shown only now, stored nowhere:\n\n"
        << "    " << key.substr(0, 24) << "\n"
        << "    " << key.substr(25) << "\n\n"
        << "Write it down on paper and keep it apart from the backups. Without it the\n"
        << "backups cannot be opened: nobody, not your therapist's practice nor the server's\n"
        << "operator, can recover it.\n";
}

}  // namespace

void AddBackupSettingsOptions(CLI::App* settings, BackupSettingsArgs& args) {
  settings
      ->add_option("--backup-dir", args.dir,
                   "Write automatic backups to DIR (created if missing); the first time, a "
                   "recovery key is shown once")
      ->type_name("DIR");
  settings
      ->add_option("--backup-every", args.every,
                   "How often to back up while Sotto is in use, e.g. 1d, 12h (default 1d)")
      ->type_name("DURATION");
  settings->add_option("--backup-keep", args.keep, "How many backups to keep (default 7)")
      ->type_name("N");
  settings->add_flag("--backup-off", args.off,
                     "Stop automatic backups (the files written stay)");
  settings->add_flag("--new-recovery-key", args.new_key,
                     "With --backup-dir: make a new recovery key for the backups from now on");
}

absl::Status ApplyBackupSettings(Client& client, const BackupSettingsArgs& args) {
  if (args.off) {
    if (!args.dir.empty() || !args.every.empty() || args.keep != 0) {
      return absl::InvalidArgumentError("--backup-off cannot be combined with other --backup-*");
    }
    return client.DisableAutoBackup();
  }
  if (args.dir.empty() && args.every.empty() && args.keep == 0 && !args.new_key) {
    return absl::OkStatus();
  }
  absl::StatusOr<AutoBackupStatus> current = client.GetAutoBackup();
  if (!current.ok()) return current.status();
  AutoBackupOptions options;
  options.dir = args.dir.empty() ? current->dir : ResolvePath(args.dir);
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("automatic backups need --backup-dir DIR");
  }
  if (!args.every.empty()) {
    absl::StatusOr<absl::Duration> every = ParseDuration(args.every);
    if (!every.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--backup-every: ", every.status().message()));
    }
    options.every = *every;
  } else if (current->enabled) {
    options.every = current->every;
  }
  options.keep = args.keep != 0 ? args.keep : current->enabled ? current->keep : options.keep;
  options.new_recovery_key = args.new_key;
  absl::StatusOr<AutoBackupSetup> setup = client.SetAutoBackup(options);
  if (!setup.ok()) return setup.status();
  if (!setup->recovery_key.empty()) {
    std::string key = setup->recovery_key;
    WipeOnExit wipe(key);
    PrintRecoveryKey(key);
    Out() << "Every automatic backup opens with it: sotto --profile NEW_DIR restore FILE\n\n";
  }
  absl::StatusOr<std::string> written = client.BackUpIfDue();
  if (!written.ok()) {
    Err() << "warning: the automatic backup could not be written yet (retried while Sotto is "
          << "in use): " << ForTerminal(written.status().message(), false) << "\n";
  } else if (!written->empty()) {
    Out() << "Backup written to " << *written << ".\n";
  }
  return absl::OkStatus();
}

absl::Status PrintBackupSettings(Client& client) {
  absl::StatusOr<AutoBackupStatus> status = client.GetAutoBackup();
  if (!status.ok()) return status.status();
  if (!status->enabled) {
    Out() << "Backups:       off (turn on with --backup-dir DIR --backup-every 1d)\n";
    return absl::OkStatus();
  }
  Out() << "Backups:       every " << absl::FormatDuration(status->every) << " to "
        << ForTerminal(status->dir, false) << ", keeping " << status->keep << "; last "
        << (status->last_backup == absl::InfinitePast()
                ? std::string("none yet")
                : absl::FormatTime("%Y-%m-%d %H:%M", status->last_backup, absl::LocalTimeZone()))
        << "\n";
  if (!status->last_error.empty()) {
    Out() << "               last attempt failed: " << ForTerminal(status->last_error, false)
          << "\n";
  }
  return absl::OkStatus();
}

void RegisterBackupCommands(CLI::App& app, Context& context) {
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Write the whole profile (identity, contacts and their verification, history, drafts, "
      "settings) into one encrypted file under a new recovery key, shown once");
  auto out = std::make_shared<std::string>();
  backup->add_option("--out", *out, "The file to write (must not exist; created 0600)")
      ->type_name("FILE")
      ->required();
  backup->callback(
      [&context, out] { context.Then([&context, out] { return Backup(context, *out); }); });

  CLI::App* restore = app.add_subcommand(
      "restore",
      "Bring a backup back into a NEW profile directory (--profile); asks for the recovery key "
      "and a passphrase; nothing is written unless the whole file checks out");
  auto file = std::make_shared<std::string>();
  auto key_file = std::make_shared<std::string>();
  auto server = std::make_shared<std::string>();
  restore->add_option("FILE", *file, "The backup file")->required();
  restore
      ->add_option("--recovery-key-file", *key_file,
                   "Read the recovery key from FILE (else SOTTO_RECOVERY_KEY, else the terminal)")
      ->type_name("FILE");
  restore->add_option("--server", *server, "Use this server address instead of the backup's")
      ->type_name("HOST:PORT");
  restore->callback([&context, file, key_file, server] {
    context.Then(
        [&context, file, key_file, server] { return Restore(context, *file, *key_file, *server); });
  });
}

}  // namespace sotto::cli
