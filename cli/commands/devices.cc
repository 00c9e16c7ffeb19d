// devices, link-device, remove-device, and `init --link`: the devices of one
// account (sotto/devices.h, docs/PROTOCOL.md "Linking a device").

#include "sotto/devices.h"

#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "commands/commands.h"
#include "io.h"
#include "json_writer.h"
#include "output.h"
#include "qr.h"
#include "sanitize.h"
#include "secret.h"
#include "terminal.h"

namespace sotto::cli {
namespace {

std::string Ms(const std::optional<absl::Time>& t) {
  return t ? When(absl::ToUnixMillis(*t)) : std::string("-");
}

absl::Status Devices(Context& context, bool json) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  absl::StatusOr<std::vector<DeviceEntry>> devices = (*opened)->ListDevices();
  if (!devices.ok()) return devices.status();
  if (json) {
    JsonWriter w;
    w.BeginArray();
    for (const DeviceEntry& d : *devices) {
      w.BeginObject();
      w.Key("device_id");
      w.Int(d.device_id);
      w.Key("name");
      w.String(d.name);
      w.Time("linked_at", d.linked_at ? absl::ToUnixMillis(*d.linked_at) : 0);
      w.Time("last_seen_hour", d.last_seen_hour ? absl::ToUnixMillis(*d.last_seen_hour) : 0);
      w.Key("this_device");
      w.Bool(d.this_device);
      w.EndObject();
    }
    w.EndArray();
    Out() << w.Take() << "\n";
    return absl::OkStatus();
  }
  Out() << absl::StrFormat("%-4s %-24s %-20s %s\n", "ID", "NAME", "LINKED", "LAST SEEN (hour)");
  for (const DeviceEntry& d : *devices) {
    // Only the first device registers without a name; a device linked
    // without --device-name has none either, and is not the first.
    std::string name = !d.name.empty()    ? ForTerminal(d.name, false)
                       : d.device_id == 1 ? "(first device)"
                                          : "(no name)";
    if (d.this_device) name += " *";
    Out() << absl::StrFormat("%-4d %-24s %-20s %s\n", d.device_id, name, Ms(d.linked_at),
                             Ms(d.last_seen_hour));
  }
  Out() << "* this device. Remove one with: sotto remove-device ID|NAME\n";
  return absl::OkStatus();
}

std::string MiB(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

// One progress line, rewritten in place (on stderr: stdout may be a pipe).
void ShowHistoryProgress(const HistoryProgress& p) {
  switch (p.stage) {
    case HistoryProgress::Stage::kUploading:
      Err() << "\rSending history: " << p.messages << " messages, " << MiB(p.bytes) << " uploaded"
            << (p.total_bytes > 0 ? " - done\n" : "") << std::flush;
      break;
    case HistoryProgress::Stage::kDownloading:
      Err() << "\rFetching history: " << MiB(p.bytes) << " of " << MiB(p.total_bytes)
            << (p.bytes >= p.total_bytes ? "\n" : "") << std::flush;
      break;
    case HistoryProgress::Stage::kImporting:
      Err() << "\rAdding history: " << p.messages << " messages          " << std::flush;
      break;
  }
}

absl::Status LinkDevice(Context& context, bool include_history) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  LinkDeviceOptions options;
  options.include_history = include_history;
  options.on_history_progress = ShowHistoryProgress;
  options.on_code = [&client](const std::string& code, absl::Time expires) {
    Out() << "On the new device, run:\n\n    sotto init --server " << client.server_address()
          << " --link " << code << " --device-name NAME\n\nor scan:\n\n";
    if (absl::StatusOr<std::string> qr = QrTerminal(code); qr.ok()) Out() << *qr;
    Out() << "\nThe code works once, until " << When(absl::ToUnixMillis(expires))
          << ". It gives the new device this account's keys: show it to no one else.\n"
          << std::flush;
  };
  options.on_progress = [](LinkStage stage) {
    switch (stage) {
      case LinkStage::kWaitingForNewDevice:
        Err() << "Waiting for the new device...\n";
        break;
      case LinkStage::kSendingKeys:
        Err() << "The new device answered with the code; sending it the account's keys...\n";
        break;
      case LinkStage::kSent:
        break;
    }
  };
  if (absl::Status s = client.LinkDevice(options); !s.ok()) return s;
  Out() << "Sent. The new device finishes joining by itself; check with: sotto devices\n";
  return absl::OkStatus();
}

absl::Status RemoveDevice(Context& context, const std::string& which) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  absl::StatusOr<std::vector<DeviceEntry>> devices = client.ListDevices();
  if (!devices.ok()) return devices.status();
  const DeviceEntry* target = nullptr;
  uint32_t id = 0;
  for (const DeviceEntry& d : *devices) {
    const bool by_id = absl::SimpleAtoi(which, &id) && id == d.device_id;
    if (by_id || (!d.name.empty() && d.name == which)) {
      if (target != nullptr && target != &d) {
        return absl::InvalidArgumentError(absl::StrCat("more than one device is called \"",
                                                       ForTerminal(which, false),
                                                       "\": give its id (sotto devices)"));
      }
      target = &d;
    }
  }
  if (target == nullptr) {
    return absl::NotFoundError(absl::StrCat("this account has no device \"",
                                            ForTerminal(which, false),
                                            "\" (id or name; see sotto devices)"));
  }
  if (absl::Status s = client.RemoveDevice(target->device_id); !s.ok()) return s;
  Out() << "Removed device " << target->device_id
        << (target->name.empty() ? "" : absl::StrCat(" (", ForTerminal(target->name, false), ")"))
        << ": its credentials no longer work and contacts stop sending to it.\n";
  if (target->this_device) {
    Out() << "That was this device: its profile (" << context.profile_dir()
          << ") can no longer reach the server; remove the directory to wipe it.\n";
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status InitFromLinkCode(Context& context, const std::string& server, const std::string& code,
                              const std::string& device_name) {
  absl::StatusOr<TlsPems> pems = context.ReadTls();
  if (!pems.ok()) return pems.status();
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/true);
  if (!passphrase.ok()) return passphrase.status();
  WipeOnExit wipe_passphrase(*passphrase);
  if (absl::Status s = CheckNewPassphrase(*passphrase, "", "no profile was created"); !s.ok()) {
    return s;
  }
  JoinOptions options;
  WipeOnExit wipe_copy(options.passphrase);
  options.code = code;
  options.device_name = device_name;
  options.profile_dir = context.profile_dir();
  options.passphrase = *passphrase;
  options.server_address = server;
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = context.tls().system_roots;
  options.on_history_progress = ShowHistoryProgress;
  Err() << "Waiting for your other device to answer...\n";
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(options);
  if (!joined.ok()) return joined.status();
  if (joined->history) Err() << "\n";
  Out() << "Joined " << joined->client->handle() << " as device " << joined->client->device_id()
        << " on " << server << ".\nProfile: " << context.profile_dir() << "\n"
        << joined->contacts << " contact(s) came over with their trusted keys and verification.\n";
  if (!joined->history) {
    Out() << "No history came over (the other device sent none); new messages arrive here.\n";
  } else if (joined->history_status.ok()) {
    Out() << joined->history_messages << " message(s) of history came over.\n";
  } else {
    // Joined all the same: the history is the only thing missing.
    Err() << "The history from your other device could not be added: "
          << joined->history_status.message()
          << "\nThis device is joined and works; it has no earlier messages. To try again, "
             "remove it (sotto remove-device) and link it again.\n";
  }
  return absl::OkStatus();
}

void RegisterDeviceCommands(CLI::App& app, Context& context) {
  CLI::App* devices = app.add_subcommand(
      "devices", "List this account's devices: id, name, when linked, last seen (to the hour)");
  auto json = std::make_shared<bool>(false);
  AddJsonFlag(devices, json.get());
  devices->callback(
      [&context, json] { context.Then([&context, json] { return Devices(context, *json); }); });

  CLI::App* link =
      app.add_subcommand("link-device",
                         "Show a one-time code (and QR) that lets a new device join this account "
                         "(`sotto init --link CODE` there), and wait for it");
  auto no_history = std::make_shared<bool>(false);
  link->add_flag("--no-history", *no_history,
                 "Do not send this device's message history along (by default it goes, "
                 "end-to-end encrypted, through the server, which deletes it once fetched)");
  link->callback([&context, no_history] {
    context.Then([&context, no_history] { return LinkDevice(context, !*no_history); });
  });

  CLI::App* remove = app.add_subcommand(
      "remove-device",
      "Remove a device of this account by id or name: its credentials stop working at once");
  auto which = std::make_shared<std::string>();
  remove->add_option("DEVICE", *which, "The device's id or name (see sotto devices)")->required();
  remove->callback([&context, which] {
    context.Then([&context, which] { return RemoveDevice(context, *which); });
  });
}

}  // namespace sotto::cli
