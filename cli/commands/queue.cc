// queue, snooze, close, claim: a therapist's queue of clients waiting for a
// reply.

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "commands/commands.h"
#include "io.h"
#include "json_output.h"
#include "output.h"
#include "sanitize.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

// One row of the `queue` table (no trailing spaces).
std::string QueueLine(const QueueEntry& e, int64_t now_ms, bool all, const std::string& me) {
  std::string line = absl::StrFormat("%-20s ", ForTerminal(e.client, false));
  if (all) absl::StrAppendFormat(&line, "%-9s ", StateName(e.state));
  const std::string waited = e.oldest_waiting_ms > 0
                                 ? FormatWaited(absl::Milliseconds(now_ms - e.oldest_waiting_ms))
                                 : "-";
  absl::StrAppendFormat(&line, "%7d  %-8s %-16s", e.waiting_count, waited,
                        e.due_ms > 0 ? When(e.due_ms) : "-");
  std::vector<std::string> notes;
  if (e.overdue) notes.push_back("OVERDUE");
  if (e.state == ConversationState::kSnoozed && e.snoozed_until_ms > 0) {
    notes.push_back(absl::StrCat("snoozed until ", When(e.snoozed_until_ms)));
  }
  if (!e.claimed_by.empty()) {
    notes.push_back(
        absl::StrCat("claimed by ", e.claimed_by == me ? "you" : ForTerminal(e.claimed_by, false)));
  }
  if (!notes.empty()) absl::StrAppend(&line, "  ", absl::StrJoin(notes, "  "));
  return std::string(absl::StripTrailingAsciiWhitespace(line));
}

absl::Status ListQueue(Context& context, bool all, bool json) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (absl::Status s = RequireTherapist(client, "queue"); !s.ok()) return s;
  auto view = client.ListQueue(all);
  if (!view.ok()) return view.status();
  if (json) {
    Out() << QueueJson(*view, all);
    return absl::OkStatus();
  }
  if (view->entries.empty()) {
    Out() << (all ? "No conversations with linked clients. `sotto invite` makes an invite "
                    "code.\n"
                  : "Nobody is waiting for a reply.\n");
    return absl::OkStatus();
  }
  std::string header = absl::StrFormat("%-20s ", "CLIENT");
  if (all) absl::StrAppendFormat(&header, "%-9s ", "STATE");
  absl::StrAppendFormat(&header, "%7s  %-8s %s", "WAITING", "WAITED", "DUE");
  Out() << header << "\n";
  for (const QueueEntry& e : view->entries) {
    Out() << QueueLine(e, view->now_ms, all, client.handle()) << "\n";
  }
  return absl::OkStatus();
}

struct SnoozeArgs {
  std::string peer, until, for_duration;
};

absl::StatusOr<absl::Time> WakeTime(const SnoozeArgs& a) {
  if (!a.until.empty()) return FutureWhen("--until", a.until);
  if (a.for_duration.empty()) {
    return absl::InvalidArgumentError("how long? give --until WHEN or --for DURATION");
  }
  auto parsed = ParseDuration(a.for_duration);
  if (!parsed.ok()) return ForFlag("--for", parsed.status());
  return absl::Now() + *parsed;
}

absl::Status Snooze(Context& context, const SnoozeArgs& a) {
  absl::StatusOr<absl::Time> wake = WakeTime(a);
  if (!wake.ok()) return wake.status();
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (absl::Status s = RequireTherapist(client, "snooze"); !s.ok()) return s;
  if (absl::Status s = client.Snooze(a.peer, *wake); !s.ok()) return s;
  Out() << "Snoozed " << a.peer << " until " << When(*wake)
        << "; back in the queue then, or sooner if they write.\n";
  return absl::OkStatus();
}

// close and claim: one call on one client's conversation.
absl::Status CloseOrClaim(Context& context, const std::string& peer, bool claim) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (absl::Status s = RequireTherapist(client, claim ? "claim" : "close"); !s.ok()) return s;
  if (absl::Status s = claim ? client.Claim(peer) : client.Close(peer); !s.ok()) return s;
  if (claim) {
    Out() << "Claimed the conversation with " << peer
          << "; your care team sees that you are answering.\n";
  } else {
    Out() << "Closed the conversation with " << peer << "; a new message from them reopens it.\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterQueueCommands(CLI::App& app, Context& context) {
  CLI::App* queue = app.add_subcommand("queue", "Therapists: who is waiting for a reply");
  struct QueueArgs {
    bool all = false;
    bool json = false;
  };
  auto q = std::make_shared<QueueArgs>();
  queue->add_flag("--all", q->all, "Every client, also answered, snoozed and closed ones");
  AddJsonFlag(queue, &q->json);
  queue->callback([&context, q] {
    context.Then([&context, q] { return ListQueue(context, q->all, q->json); });
  });

  CLI::App* snooze = app.add_subcommand("snooze", "Therapists: hide a conversation for a while");
  auto s = std::make_shared<SnoozeArgs>();
  snooze->add_option("USER", s->peer, "The client")->type_name("")->required();
  CLI::Option* until =
      snooze->add_option("--until", s->until, "Back in the queue at WHEN")->type_name("WHEN");
  snooze->add_option("--for", s->for_duration, "Back in the queue after DURATION")
      ->type_name("DURATION")
      ->excludes(until);
  snooze->footer(kWhenHelp);
  snooze->callback([&context, s] { context.Then([&context, s] { return Snooze(context, *s); }); });

  for (const bool claim : {false, true}) {
    CLI::App* command =
        claim ? app.add_subcommand(
                    "claim", "Therapists: answer this client yourself, so your care team does not")
              : app.add_subcommand(
                    "close", "Therapists: take a conversation out of the queue without replying");
    auto peer = std::make_shared<std::string>();
    command->add_option("USER", *peer, "The client")->type_name("")->required();
    command->callback([&context, peer, claim] {
      context.Then([&context, peer, claim] { return CloseOrClaim(context, *peer, claim); });
    });
  }
}

}  // namespace sotto::cli
