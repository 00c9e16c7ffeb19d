// init, passwd, settings, delete-account: the profile and the account.

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "sanitize.h"
#include "secret.h"
#include "sotto/passphrase.h"
#include "terminal.h"

namespace sotto::cli {
namespace {

struct InitArgs {
  std::string server, role, name, enrol_code, invite_code, link_code, device_name;
};

absl::Status CheckInitArgs(const InitArgs& a) {
  if (a.role.empty() || a.name.empty()) {
    return absl::InvalidArgumentError(
        "init needs --role and --name to register a new account, or --link CODE to join "
        "an account you have on another device");
  }
  const bool therapist = a.role == "therapist";
  if (therapist && a.enrol_code.empty()) {
    return absl::InvalidArgumentError(
        "a therapist needs --enrol CODE, the enrolment code from the operator");
  }
  if (!therapist && a.invite_code.empty()) {
    return absl::InvalidArgumentError(
        "a client needs --invite CODE, the invite code from their therapist");
  }
  if (therapist && !a.invite_code.empty()) {
    return absl::InvalidArgumentError("--invite is for clients; a therapist uses --enrol");
  }
  if (!therapist && !a.enrol_code.empty()) {
    return absl::InvalidArgumentError("--enrol is for therapists; a client uses --invite");
  }
  return absl::OkStatus();
}

absl::Status Init(Context& context, const InitArgs& a) {
  if (!a.link_code.empty()) {
    if (!a.role.empty() || !a.name.empty() || !a.enrol_code.empty() || !a.invite_code.empty()) {
      return absl::InvalidArgumentError(
          "--link joins an existing account: leave out --role, --name, --enrol and --invite");
    }
    return InitFromLinkCode(context, a.server, a.link_code, a.device_name);
  }
  if (!a.device_name.empty()) {
    return absl::InvalidArgumentError("--device-name goes with --link");
  }
  if (absl::Status s = CheckInitArgs(a); !s.ok()) return s;
  absl::StatusOr<TlsPems> pems = context.ReadTls();
  if (!pems.ok()) return pems.status();
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/true);
  if (!passphrase.ok()) return passphrase.status();
  WipeOnExit wipe_passphrase(*passphrase);
  if (absl::Status s = CheckNewPassphrase(*passphrase, a.name, "no profile was created"); !s.ok()) {
    return s;
  }
  const bool therapist = a.role == "therapist";
  RegisterOptions options;
  WipeOnExit wipe_copy(options.passphrase);
  options.profile_dir = context.profile_dir();
  options.server_address = a.server;
  options.handle = a.name;
  options.role = therapist ? Role::kTherapist : Role::kClient;
  options.passphrase = *std::move(passphrase);
  options.enrolment_code = a.enrol_code;
  options.invite_code = a.invite_code;
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = context.tls().system_roots;
  options.tls_crl_pem = std::move(pems->crl_pem);
  auto client = Client::Register(options);
  if (!client.ok()) return client.status();
  Out() << "Registered " << (*client)->handle() << " as a " << a.role << " on " << a.server
        << ".\nProfile: " << context.profile_dir() << "\n";
  if (therapist) return absl::OkStatus();
  // Registration linked the client; say to whom, so the next step is
  // obvious. The registration stands even if this lookup fails.
  if (auto linked = (*client)->ListLinks(); linked.ok()) {
    for (const CareLink& link : *linked) {
      if (link.active) {
        const std::string peer = ForTerminal(link.peer, false);
        Out() << "Linked with " << peer << ". Write with: sotto send " << peer << "\n";
        PrintInviteTrust(peer, a.invite_code);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Passwd(Context& context) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> fresh = NewPassphrase();
  if (!fresh.ok()) return fresh.status();
  WipeOnExit wipe_fresh(*fresh);
  if (absl::Status s =
          CheckNewPassphrase(*fresh, (*client)->handle(), "the passphrase was not changed");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = (*client)->ChangePassphrase(context.passphrase(), *fresh); !s.ok()) {
    return s;
  }
  Out() << "Passphrase changed.\n";
  return absl::OkStatus();
}

absl::Status Settings(Context& context, const std::string& read_receipts,
                      const BackupSettingsArgs& backup) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (!read_receipts.empty()) {
    if (absl::Status s = client.SetReadReceipts(read_receipts == "on"); !s.ok()) return s;
  }
  if (absl::Status s = ApplyBackupSettings(client, backup); !s.ok()) return s;
  auto receipts = client.ReadReceipts();
  if (!receipts.ok()) return receipts.status();
  Out() << "Handle:        " << client.handle() << " ("
        << (client.role() == Role::kTherapist ? "therapist" : "client") << ")\n"
        << "Profile:       " << context.profile_dir() << "\n"
        << "Read receipts: " << (*receipts ? "on" : "off")
        << (*receipts ? " (senders see when you have read their messages)"
                      : " (senders see delivery, not when you read)")
        << "\n";
  return PrintBackupSettings(client);
}

absl::Status DeleteAccount(Context& context, std::string confirm_handle) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  const std::string me = client.handle();
  if (confirm_handle.empty()) {
    absl::StatusOr<std::string> typed =
        AskForHandle(client.handle(), client.server_address(), context.profile_dir());
    if (!typed.ok()) return typed.status();
    confirm_handle = *std::move(typed);
  }
  if (absl::Status s = client.DeleteAccount(confirm_handle); !s.ok()) {
    if (s.code() != absl::StatusCode::kUnauthenticated) return s;
    // The server no longer knows this device: most likely an earlier
    // delete-account went through but its answer was lost.
    return absl::Status(s.code(), absl::StrCat(s.message(),
                                               "; if an earlier delete-account was cut off, "
                                               "the account is already deleted. This profile "
                                               "was kept: remove ",
                                               context.profile_dir(), " to wipe it"));
  }
  Out() << "Deleted the account " << me << " on " << client.server_address() << ".\n"
        << "The server removed its keys, undelivered messages and care links (the other "
           "side keeps no link naming you); its audit log records that the account was "
           "deleted, with no content.\n"
        << "This device's profile (" << context.profile_dir()
        << ") was wiped: keys and message history are gone.\n";
  return absl::OkStatus();
}

void RegisterInit(CLI::App& app, Context& context) {
  CLI::App* init = app.add_subcommand("init", "Create a profile and register with a server");
  auto a = std::make_shared<InitArgs>();
  init->add_option("--server", a->server, "Server address, HOST:PORT")
      ->type_name("HOST:PORT")
      ->required();
  init->add_option("--role", a->role, "client or therapist (a new account)")
      ->type_name("ROLE")
      ->check(CLI::IsMember({"client", "therapist"}));
  init->add_option("--name", a->name,
                   "Your handle: 3-32 of a-z 0-9 _ -, starting with a letter (a new account)")
      ->type_name("NAME");
  init->add_option("--link", a->link_code,
                   "Join an account you have on another device: the code `sotto link-device` "
                   "shows there")
      ->type_name("CODE");
  init->add_option("--device-name", a->device_name,
                   "With --link: what your other devices call this one (e.g. office desktop)")
      ->type_name("NAME");
  init->add_option("--enrol", a->enrol_code,
                   "Therapists: the enrolment code from the operator (sotto-server "
                   "enrol-therapist)")
      ->type_name("CODE");
  init->add_option("--invite", a->invite_code, "Clients: the invite code from your therapist")
      ->type_name("CODE");
  init->callback([&context, a] { context.Then([&context, a] { return Init(context, *a); }); });
}

}  // namespace

// The policy of sotto/passphrase.h for a passphrase about to protect a
// profile, with `handle` and the app's name as words an attacker tries first.
// `consequence` says what did not happen. SOTTO_ALLOW_WEAK_PASSPHRASE=1 skips
// the check: it exists for the end-to-end tests, whose profiles are throwaway
// and whose passphrases predate the policy.
absl::Status CheckNewPassphrase(const std::string& passphrase, const std::string& handle,
                                absl::string_view consequence) {
  if (CallerEnv("SOTTO_ALLOW_WEAK_PASSPHRASE") == std::optional<std::string>("1")) {
    return absl::OkStatus();
  }
  const std::string words[] = {handle, "sotto"};
  absl::Status s = CheckPassphraseStrength(passphrase, words);
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(s.message(), "; ", consequence));
}

absl::StatusOr<std::string> AskForHandle(const std::string& handle, const std::string& server,
                                         const std::string& profile_dir) {
  Err() << "This deletes the account " << handle << " on " << server
        << ": the server removes its keys, undelivered messages and care links, and "
        << "this device's profile (" << profile_dir
        << ") with your message history is wiped. It cannot be undone.\n"
        << "Type your handle (" << handle << ") to delete the account: ";
  Err().flush();
  std::string typed;
  if (!std::getline(In(), typed)) typed.clear();
  typed = std::string(absl::StripAsciiWhitespace(typed));
  if (typed.empty()) return absl::InvalidArgumentError("no handle typed; nothing was deleted");
  return typed;
}

void RegisterAccountCommands(CLI::App& app, Context& context) {
  RegisterInit(app, context);

  CLI::App* passwd = app.add_subcommand(
      "passwd",
      "Change the passphrase of the profile (new one from SOTTO_NEW_PASSPHRASE or a prompt)");
  passwd->callback([&context] { context.Then([&context] { return Passwd(context); }); });

  CLI::App* settings = app.add_subcommand("settings", "Show or change your settings");
  auto read_receipts = std::make_shared<std::string>();
  settings
      ->add_option("--read-receipts", *read_receipts,
                   "on or off: whether senders see when you read their messages")
      ->type_name("on|off")
      ->check(CLI::IsMember({"on", "off"}));
  auto backup = std::make_shared<BackupSettingsArgs>();
  AddBackupSettingsOptions(settings, *backup);
  settings->callback([&context, read_receipts, backup] {
    context.Then([&context, read_receipts, backup] {
      return Settings(context, *read_receipts, *backup);
    });
  });

  CLI::App* delete_account = app.add_subcommand(
      "delete-account",
      "Delete your account on the server and wipe this profile (keys and history); asks you to "
      "type your handle");
  auto confirm = std::make_shared<std::string>();
  delete_account
      ->add_option("--confirm", *confirm,
                   "For scripts: your handle, instead of typing it at the prompt")
      ->type_name("HANDLE");
  delete_account->callback([&context, confirm] {
    context.Then([&context, confirm] { return DeleteAccount(context, *confirm); });
  });
}

}  // namespace sotto::cli
