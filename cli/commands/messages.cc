// send, letter, reply, cancel, sync, inbox, read: writing and reading.

#include <algorithm>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client-lib/content/codec.h"
#include "commands/commands.h"
#include "io.h"
#include "json_output.h"
#include "output.h"
#include "sanitize.h"
#include "sotto/status_text.h"
#include "terminal.h"

namespace sotto::cli {
namespace {

// What send, letter and reply are given.
struct SendArgs {
  std::string to;
  std::string text;
  std::string subject;
  std::string message_id;
  std::string at;
  bool team = false;
};

// The body of a text or letter: the argument, else stdin when it is a file or
// pipe ("-" forces stdin), else the editor (`use_editor`) or the terminal.
absl::StatusOr<std::string> ReadBody(const std::string& arg, bool use_editor,
                                     absl::string_view what) {
  std::string body;
  if (!arg.empty() && arg != "-") {
    body = arg;
  } else if (arg == "-" || !StdinIsTerminal() || !use_editor) {
    if (StdinIsTerminal()) Err() << "Type the " << what << ", then Ctrl-D.\n";
    body = ReadStdin();
  } else {
    absl::StatusOr<std::string> edited = ComposeInEditor();
    if (!edited.ok()) return edited.status();
    body = std::move(*edited);
  }
  body = TrimTrailing(std::move(body));
  if (absl::StripLeadingAsciiWhitespace(body).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " is empty; nothing was sent"));
  }
  return body;
}

// A text longer than a text may be: say what to do instead. `to` is who it
// was for, for the example command.
absl::Status CheckTextSize(const std::string& body, absl::string_view to) {
  if (body.size() <= client::content::kMaxTextBodyBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "the message is %d bytes, over the %d-byte limit for a text, so nothing was sent; send it "
      "as a letter (up to %d KiB): sotto letter %s --subject SUBJECT < FILE",
      body.size(), client::content::kMaxTextBodyBytes, client::content::kMaxLetterBodyBytes / 1024,
      to.empty() ? "USER" : to));
}

absl::Status Send(Context& context, const SendArgs& a) {
  // Everything that can be checked without the profile is, before the
  // passphrase is asked for.
  if (a.team && !a.text.empty()) {
    return absl::InvalidArgumentError("with --team, give only the text (no recipient)");
  }
  if (!a.team && a.to.empty()) {
    return absl::InvalidArgumentError("whom to? sotto send USER [TEXT] (or --team TEXT)");
  }
  absl::StatusOr<SendOptions> options = SendOptionsFor(a.at);
  if (!options.ok()) return options.status();
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  // With --team the one positional argument is the text.
  absl::StatusOr<std::string> body = ReadBody(a.team ? a.to : a.text, false, "message");
  if (!body.ok()) return body.status();
  if (absl::Status s = CheckTextSize(*body, a.team ? "" : a.to); !s.ok()) return s;
  if (a.team) {
    auto sent = client.SendToCareTeam(*body, *options);
    if (!sent.ok()) return sent.status();
    ReportSends(client, *sent);
    return absl::OkStatus();
  }
  auto sent = client.SendText(a.to, *body, *options);
  if (!sent.ok()) return sent.status();
  ReportSends(client, {*sent});
  return absl::OkStatus();
}

absl::Status KeepDraft(const std::string& body, const absl::Status& failure);

// `letter` (a new thread) or `reply` (an answer to message_id).
absl::Status Write(Context& context, const SendArgs& a, bool letter) {
  absl::StatusOr<SendOptions> options = SendOptionsFor(a.at);
  if (!options.ok()) return options.status();
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  // A letter's body never comes from argv: it is long, and argv is public.
  absl::StatusOr<std::string> body =
      ReadBody(letter ? "" : a.text, /*use_editor=*/true, letter ? "letter" : "reply");
  if (!body.ok()) return body.status();
  auto sent = letter ? client.SendLetter(a.to, a.subject, *body, *options)
                     : client.Reply(a.message_id, *body, *options);
  if (!sent.ok()) return KeepDraft(*body, sent.status());
  ReportSends(client, {*sent});
  return absl::OkStatus();
}

// After a failed letter or reply: the library keeps what it could not send
// for now (and says so); what it refused (too long, refused for good) is
// only in memory, so it is saved to a file for the writer to fix and send.
absl::Status KeepDraft(const std::string& body, const absl::Status& failure) {
  switch (failure.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return failure;  // kept as not sent in the profile
    default:
      break;
  }
  absl::StatusOr<std::string> saved = SaveDraft(body);
  if (!saved.ok()) {
    return AppendToMessage(failure, absl::StrCat("; saving the text as a draft failed too (",
                                                 saved.status().message(), ")"));
  }
  return AppendToMessage(failure, absl::StrCat("; your text is saved in ", *saved,
                                               " (owner-only, in memory where the system "
                                               "allows): fix it and send it with `sotto letter "
                                               "USER --subject S < FILE`"));
}

absl::Status Cancel(Context& context, const std::string& message_id) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->CancelScheduled(message_id); !s.ok()) return s;
  Out() << "Cancelled " << message_id << "; it will not be delivered.\n";
  return absl::OkStatus();
}

absl::Status Retry(Context& context) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<int> sent = (*client)->RetryUnsent();
  if (!sent.ok()) return sent.status();
  Out() << (*sent == 0 ? "Nothing was waiting to be sent."
                       : absl::StrCat(*sent, *sent == 1 ? " message" : " messages",
                                      " that waited were sent."))
        << "\n";
  return absl::OkStatus();
}

// What an unreadable message means, in words a person can act on: it was
// encrypted for keys this device does not have. After a restore from a
// backup that is every message sent to the old device (or its lost copy)
// that it had not fetched: the restored device started new sessions, and
// asked the sender's app to send those messages again.
void PrintUnreadable(const SyncStats& stats) {
  if (stats.undecryptable == 0) return;
  if (stats.unreadable_from.empty()) {
    Out() << "The unreadable messages came from no valid account (damaged or forged on the "
          << "way); they were dropped.\n";
    return;
  }
  const std::string who = ForTerminal(absl::StrJoin(stats.unreadable_from, ", "), false);
  Out() << "Messages from " << who << " could not be read: they were encrypted for keys this "
        << "device no longer has - most likely sent to this device before it was restored "
        << "from a backup.";
  if (stats.asked_again > 0) {
    const bool one = stats.asked_again == 1;
    Out() << " Sotto asked " << who << "'s app to send " << (one ? "it" : "them")
          << " again: " << (one ? "it arrives" : "they arrive")
          << " with a later sync once that app has been online. If not, ask " << who
          << " to send " << (one ? "it" : "them") << " again.\n";
  } else {
    Out() << " They cannot be recovered; ask " << who << " to send them again.\n";
  }
}

void PrintSyncStats(const SyncStats& stats) {
  Out() << stats.received << (stats.received == 1 ? " new message" : " new messages");
  if (stats.duplicates > 0) Out() << ", " << stats.duplicates << " repeats dropped";
  if (stats.undecryptable > 0) {
    Out() << ", " << stats.undecryptable << (stats.undecryptable == 1 ? " message" : " messages")
          << " could not be read";
  }
  if (stats.transcripts > 0) {
    Out() << ", " << stats.transcripts << (stats.transcripts == 1 ? " message" : " messages")
          << " you sent from another device";
  }
  if (stats.held > 0) Out() << ", " << stats.held << " held (sender's identity key changed)";
  if (stats.resent > 0) {
    Out() << ", " << stats.resent << (stats.resent == 1 ? " message" : " messages")
          << " you wrote earlier sent";
  }
  Out() << ".\n";
  PrintUnreadable(stats);
  Out().flush();
  PrintNotices(stats.notices);
  if (!stats.maintenance_error.empty()) {
    Err() << "warning: keeping this device's keys on the server failed (retried next "
          << "sync): " << ForTerminal(stats.maintenance_error, false) << "\n";
  }
}

// Inside the agent, `sync --wait` must end when its caller hangs up, and
// Client::StopListening would end every other Listen on the shared Client
// too (the desk's, other callers'). So it listens in slices of a second,
// checking between them; a message arriving between two slices waits on the
// server for the next one, so none is lost.
absl::StatusOr<SyncStats> ListenForCaller(Client& client, absl::Duration idle,
                                          const std::function<bool(const Message&)>& show) {
  SyncStats total;
  absl::Time last = absl::Now();
  while (!CallerGone()) {
    const absl::Duration left = idle - (absl::Now() - last);
    if (left <= absl::ZeroDuration()) break;
    bool got = false;
    absl::StatusOr<SyncStats> slice =
        client.Listen(std::min(left, absl::Seconds(1)), [&](const Message& m) {
          got = true;
          return show(m) && !CallerGone();
        });
    if (!slice.ok()) return slice.status();
    total.received += slice->received;
    total.duplicates += slice->duplicates;
    total.undecryptable += slice->undecryptable;
    total.held += slice->held;
    total.resent += slice->resent;
    if (!slice->maintenance_error.empty()) total.maintenance_error = slice->maintenance_error;
    total.held_from.insert(total.held_from.end(), slice->held_from.begin(), slice->held_from.end());
    for (const std::string& from : slice->unreadable_from) {
      if (std::find(total.unreadable_from.begin(), total.unreadable_from.end(), from) ==
          total.unreadable_from.end()) {
        total.unreadable_from.push_back(from);
      }
    }
    std::sort(total.unreadable_from.begin(), total.unreadable_from.end());
    total.notices.insert(total.notices.end(), slice->notices.begin(), slice->notices.end());
    if (got) last = absl::Now();
  }
  return total;
}

absl::Status Sync(Context& context, double wait_seconds) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  absl::StatusOr<SyncStats> stats;
  if (wait_seconds > 0) {
    const std::string me = client.handle();
    auto show = [&](const Message& m) {
      PrintMessage(m, me, nullptr);
      Out().flush();
      return true;
    };
    stats = CurrentCaller() != nullptr ? ListenForCaller(client, absl::Seconds(wait_seconds), show)
                                       : client.Listen(absl::Seconds(wait_seconds), show);
  } else {
    stats = client.Sync();
  }
  if (!stats.ok()) return stats.status();
  PrintSyncStats(*stats);
  return absl::OkStatus();
}

absl::Status Inbox(Context& context, bool json) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  auto conversations = (*client)->ListConversations();
  if (!conversations.ok()) return conversations.status();
  if (json) {
    Out() << InboxJson(*conversations);
    return absl::OkStatus();
  }
  if (conversations->empty()) {
    Out() << "No conversations yet. `sotto sync` fetches new messages.\n";
    return absl::OkStatus();
  }
  Out() << absl::StrFormat("%-20s %-16s %6s  %s\n", "WITH", "LAST", "UNREAD", "NEWEST");
  for (const Conversation& c : *conversations) {
    Out() << absl::StrFormat("%-20s %-16s %6s  %s%s\n", ForTerminal(c.peer, false),
                             When(c.last_activity_ms),
                             c.unread_count ? absl::StrCat(c.unread_count) : "",
                             c.last_outgoing ? "you: " : "", ForTerminal(c.preview, false));
  }
  return absl::OkStatus();
}

absl::Status Read(Context& context, const std::string& peer, bool json) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  auto messages = (*client)->ReadConversation(peer);
  if (!messages.ok()) return messages.status();
  if (json) {
    Out() << ConversationJson(peer, *messages);
  } else {
    for (const Message& m : *messages) PrintMessage(m, (*client)->handle(), &*messages);
  }
  // The sender sees "read" now rather than at this profile's next sync
  // (best effort: offline, they wait for it).
  Out().flush();
  (*client)->SendPendingReceipts().IgnoreError();
  return absl::OkStatus();
}

void RegisterSend(CLI::App& app, Context& context) {
  CLI::App* send =
      app.add_subcommand("send", "Send a text (from the argument, or stdin when omitted or '-')");
  auto a = std::make_shared<SendArgs>();
  send->add_option("USER", a->to, "Recipient handle (with --team: the text)")->type_name("");
  send->add_option("TEXT", a->text, "The message; omit or '-' to read stdin")->type_name("");
  AddSendAtOption(send, &a->at);
  send->add_flag("--team", a->team, "Clients: send to every therapist of your care team");
  send->callback([&context, a] { context.Then([&context, a] { return Send(context, *a); }); });
}

void RegisterLetterAndReply(CLI::App& app, Context& context) {
  CLI::App* letter = app.add_subcommand(
      "letter", "Write a letter: body from stdin, or $EDITOR when stdin is a terminal");
  auto l = std::make_shared<SendArgs>();
  letter->add_option("USER", l->to, "Recipient handle")->type_name("")->required();
  letter->add_option("--subject", l->subject, "The subject (encrypted like the body)")
      ->type_name("SUBJECT")
      ->required();
  AddSendAtOption(letter, &l->at);
  letter->callback(
      [&context, l] { context.Then([&context, l] { return Write(context, *l, true); }); });

  CLI::App* reply = app.add_subcommand(
      "reply", "Answer a message: a letter with a letter in its thread, a text with a text");
  auto r = std::make_shared<SendArgs>();
  reply->add_option("ID", r->message_id, "The message's id as `sotto read` shows it")
      ->type_name("")
      ->required();
  reply
      ->add_option("TEXT", r->text,
                   "The answer; omitted: stdin, or $EDITOR when stdin is a terminal")
      ->type_name("");
  AddSendAtOption(reply, &r->at);
  reply->callback(
      [&context, r] { context.Then([&context, r] { return Write(context, *r, false); }); });
}

void RegisterReading(CLI::App& app, Context& context) {
  CLI::App* sync = app.add_subcommand("sync", "Receive new messages");
  auto wait_seconds = std::make_shared<double>(0);
  sync->add_option("--wait", *wait_seconds,
                   "Keep listening and print messages as they arrive, until this many "
                   "seconds pass without one")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  sync->callback([&context, wait_seconds] {
    context.Then([&context, wait_seconds] { return Sync(context, *wait_seconds); });
  });

  CLI::App* inbox = app.add_subcommand("inbox", "List conversations, newest first");
  auto inbox_json = std::make_shared<bool>(false);
  AddJsonFlag(inbox, inbox_json.get());
  inbox->callback([&context, inbox_json] {
    context.Then([&context, inbox_json] { return Inbox(context, *inbox_json); });
  });

  CLI::App* read = app.add_subcommand("read", "Show a conversation and mark it read");
  struct ReadArgs {
    std::string peer;
    bool json = false;
  };
  auto r = std::make_shared<ReadArgs>();
  read->add_option("USER", r->peer, "The other person's handle")->type_name("")->required();
  AddJsonFlag(read, &r->json);
  read->callback(
      [&context, r] { context.Then([&context, r] { return Read(context, r->peer, r->json); }); });
}

}  // namespace

std::optional<absl::StatusOr<std::string>> ReadBodyBeforeForwarding(const CLI::App& command) {
  auto arg = [&command](const std::string& name) {
    const CLI::Option* option = command.get_option_no_throw(name);
    return option != nullptr && option->count() > 0 ? option->results().front() : std::string();
  };
  const std::string& name = command.get_name();
  std::string given;
  bool use_editor = true;
  if (name == "send") {
    const CLI::Option* team_flag = command.get_option_no_throw("--team");
    const bool team = team_flag != nullptr && team_flag->count() > 0;
    // Without --team and a recipient the agent fails before reading.
    if (!team && arg("USER").empty()) return std::nullopt;
    given = arg(team ? "USER" : "TEXT");
    use_editor = false;
  } else if (name == "reply") {
    given = arg("TEXT");
  } else if (name != "letter") {
    return std::nullopt;
  }
  if (!given.empty() && given != "-") return std::nullopt;
  return ReadBody(given, use_editor, name == "send" ? "message" : name);
}

void RegisterMessageCommands(CLI::App& app, Context& context) {
  RegisterSend(app, context);
  RegisterLetterAndReply(app, context);

  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a scheduled message before it goes");
  auto id = std::make_shared<std::string>();
  cancel->add_option("ID", *id, "The id `sotto send --at` printed")->type_name("")->required();
  cancel->callback(
      [&context, id] { context.Then([&context, id] { return Cancel(context, *id); }); });
  cancel->footer("Also discards a message shown as [not sent] or [failed].");

  CLI::App* retry = app.add_subcommand(
      "retry", "Send again what is shown as [not sent] or [failed] (sync does [not sent] itself)");
  retry->callback([&context] { context.Then([&context] { return Retry(context); }); });

  RegisterReading(app, context);
}

}  // namespace sotto::cli
