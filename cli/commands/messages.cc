// send, letter, reply, cancel, sync, inbox, read: writing and reading.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client-lib/content/codec.h"
#include "commands/commands.h"
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
    if (StdinIsTerminal()) std::cerr << "Type the " << what << ", then Ctrl-D.\n";
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
  std::cout << "Cancelled " << message_id << "; it will not be delivered.\n";
  return absl::OkStatus();
}

absl::Status Retry(Context& context) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<int> sent = (*client)->RetryUnsent();
  if (!sent.ok()) return sent.status();
  std::cout << (*sent == 0 ? "Nothing was waiting to be sent."
                           : absl::StrCat(*sent, *sent == 1 ? " message" : " messages",
                                          " that waited were sent."))
            << "\n";
  return absl::OkStatus();
}

void PrintSyncStats(const SyncStats& stats) {
  std::cout << stats.received << (stats.received == 1 ? " new message" : " new messages");
  if (stats.duplicates > 0) std::cout << ", " << stats.duplicates << " repeats dropped";
  if (stats.undecryptable > 0) {
    std::cout << ", " << stats.undecryptable << " could not be decrypted";
  }
  if (stats.held > 0) std::cout << ", " << stats.held << " held (sender's identity key changed)";
  if (stats.resent > 0) {
    std::cout << ", " << stats.resent << (stats.resent == 1 ? " message" : " messages")
              << " you wrote earlier sent";
  }
  std::cout << ".\n";
  std::cout.flush();
  PrintNotices(stats.notices);
  if (!stats.maintenance_error.empty()) {
    std::cerr << "warning: keeping this device's keys on the server failed (retried next "
              << "sync): " << ForTerminal(stats.maintenance_error, false) << "\n";
  }
}

absl::Status Sync(Context& context, double wait_seconds) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  absl::StatusOr<SyncStats> stats;
  if (wait_seconds > 0) {
    const std::string me = client.handle();
    stats = client.Listen(absl::Seconds(wait_seconds), [&](const Message& m) {
      PrintMessage(m, me, nullptr);
      std::cout.flush();
      return true;
    });
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
    std::cout << InboxJson(*conversations);
    return absl::OkStatus();
  }
  if (conversations->empty()) {
    std::cout << "No conversations yet. `sotto sync` fetches new messages.\n";
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat("%-20s %-16s %6s  %s\n", "WITH", "LAST", "UNREAD", "NEWEST");
  for (const Conversation& c : *conversations) {
    std::cout << absl::StrFormat("%-20s %-16s %6s  %s%s\n", ForTerminal(c.peer, false),
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
    std::cout << ConversationJson(peer, *messages);
    return absl::OkStatus();
  }
  for (const Message& m : *messages) PrintMessage(m, (*client)->handle(), &*messages);
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
