// drafts, scheduled, invites: what the desk shows, for the terminal too
// (issue 18). Drafts are the profile's encrypted drafts (Client::SaveDraft,
// written by the desk); `scheduled` lists send-later messages still held;
// `invites` a therapist's invites and whether they were used.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "sanitize.h"

namespace sotto::cli {
namespace {

// The first line of `text`, at most 60 bytes, made safe for the terminal.
std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 60) line = line.substr(0, 57) + "...";
  return ForTerminal(line, /*multiline=*/false);
}

absl::Status Drafts(Context& context) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<Draft>> drafts = (*client)->ListDrafts();
  if (!drafts.ok()) return drafts.status();
  if (drafts->empty()) {
    Out() << "No drafts.\n";
    return absl::OkStatus();
  }
  for (const Draft& d : *drafts) {
    Out() << d.id << "  " << When(d.updated_ms) << "  "
          << (d.kind == MessageKind::kLetter ? "letter" : "text") << " to "
          << (d.to.empty() ? "(nobody yet)" : ForTerminal(d.to, false)) << ": "
          << FirstLine(d.kind == MessageKind::kLetter && !d.subject.empty() ? d.subject : d.body)
          << "\n";
  }
  return absl::OkStatus();
}

absl::Status ShowDraft(Context& context, const std::string& id) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<Draft>> drafts = (*client)->ListDrafts();
  if (!drafts.ok()) return drafts.status();
  for (const Draft& d : *drafts) {
    if (d.id != id) continue;
    // Through the terminal filter like any text shown: a draft may hold
    // pasted control sequences.
    Out() << ForTerminal(d.body, /*multiline=*/true) << "\n";
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("there is no draft \"", ForTerminal(id, false), "\""));
}

absl::Status DeleteDraft(Context& context, const std::string& id) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->DeleteDraft(id); !s.ok()) return s;
  Out() << "Deleted draft " << id << ".\n";
  return absl::OkStatus();
}

absl::Status Scheduled(Context& context) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<Message>> scheduled = (*client)->ListScheduled();
  if (!scheduled.ok()) return scheduled.status();
  if (scheduled->empty()) {
    Out() << "Nothing scheduled.\n";
    return absl::OkStatus();
  }
  for (const Message& m : *scheduled) {
    Out() << ShortId(m.id) << "  goes " << When(m.server_time_ms) << " to "
          << ForTerminal(m.peer, false) << ": "
          << FirstLine(m.kind == MessageKind::kLetter ? m.subject : m.text) << "\n";
  }
  Out() << "Cancel one with `sotto cancel ID`.\n";
  return absl::OkStatus();
}

absl::Status Invites(Context& context) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (absl::Status s = RequireTherapist(client, "invites"); !s.ok()) return s;
  absl::StatusOr<std::vector<InviteInfo>> invites = client.ListInvites();
  if (!invites.ok()) return invites.status();
  if (invites->empty()) {
    Out() << "No invites in the last 30 days. Make one with `sotto invite`.\n";
    return absl::OkStatus();
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const InviteInfo& i : *invites) {
    Out() << (i.code.empty() ? i.id : i.code) << "  made " << When(i.created_ms) << "  ";
    if (i.used) {
      Out() << "used by " << ForTerminal(i.used_by, false) << " " << When(i.used_ms);
    } else if (i.expires_at_ms <= now_ms) {
      Out() << "expired " << When(i.expires_at_ms);
    } else {
      Out() << "unused, valid until " << When(i.expires_at_ms);
    }
    Out() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterDeskDataCommands(CLI::App& app, Context& context) {
  CLI::App* drafts =
      app.add_subcommand("drafts", "List your drafts (kept encrypted in the profile)");
  drafts->callback([&context, drafts] {
    if (drafts->get_subcommands().empty()) {
      context.Then([&context] { return Drafts(context); });
    }
  });
  auto id = std::make_shared<std::string>();
  CLI::App* show = drafts->add_subcommand("show", "Print a draft's text");
  show->add_option("ID", *id, "The draft's id, as `sotto drafts` lists it")
      ->type_name("")
      ->required();
  show->callback(
      [&context, id] { context.Then([&context, id] { return ShowDraft(context, *id); }); });
  CLI::App* del = drafts->add_subcommand("delete", "Delete a draft");
  del->add_option("ID", *id, "The draft's id, as `sotto drafts` lists it")
      ->type_name("")
      ->required();
  del->callback(
      [&context, id] { context.Then([&context, id] { return DeleteDraft(context, *id); }); });

  CLI::App* scheduled = app.add_subcommand(
      "scheduled", "List your send-later messages not yet delivered, soonest first");
  scheduled->callback([&context] { context.Then([&context] { return Scheduled(context); }); });

  CLI::App* invites =
      app.add_subcommand("invites", "Therapists: your invites of the last 30 days, used or not");
  invites->callback([&context] { context.Then([&context] { return Invites(context); }); });
}

}  // namespace sotto::cli
