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
#include "terminal.h"

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

}  // namespace

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
