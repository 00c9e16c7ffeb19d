// sotto — the command-line client. A thin shell over sotto::Client: parse,
// ask for the passphrase, call the library, print. Errors are one line on
// stderr (`sotto: <message>`) and exit status 1.

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpc/support/log.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sanitize.h"
#include "sotto/client.h"
#include "terminal.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

constexpr int kExitError = 1;

int Fail(const absl::Status& status) {
  // One line, whatever the message holds, so scripts can rely on it; the
  // message may quote the server, so it is made safe to print too.
  std::cerr << "sotto: " << cli::ForTerminal(status.message(), /*multiline=*/false) << "\n";
  return kExitError;
}

// `--at "+2x" is not a time; ...`: the flag first, so the user knows which
// value to fix.
absl::Status ForFlag(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(flag, " ", status.message()));
}

std::string DefaultProfileDir() {
  if (const char* env = std::getenv("SOTTO_PROFILE"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.sotto");
  }
  return ".sotto";
}

// The text of the PEM file given to `flag` (empty when not given), which
// must hold a "-----BEGIN <block>-----" block; `what` names it and `hint`
// says what to do instead.
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path,
                                        absl::string_view block, absl::string_view what,
                                        absl::string_view hint = "") {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, " ", path, ": cannot be read"));
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (pem.find(absl::StrCat("-----BEGIN ", block, "-----")) == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": no PEM ", what, " in it",
                                                   hint.empty() ? "" : " ", hint));
  }
  return pem;
}

absl::StatusOr<std::string> ReadCa(const std::string& path) {
  return ReadPemFile("--ca", path, "CERTIFICATE", "certificate");
}

absl::StatusOr<std::string> ReadCrl(const std::string& path) {
  return ReadPemFile("--crl", path, "X509 CRL", "certificate revocation list",
                     "(convert a DER one with `openssl crl -inform DER -in FILE -out FILE.pem`)");
}

struct TlsFlags {
  std::string ca_file;
  bool system_roots = false;
  std::string crl_file;
};

absl::StatusOr<std::unique_ptr<Client>> OpenProfile(const std::string& dir, const TlsFlags& tls,
                                                    std::string* passphrase_out = nullptr) {
  absl::StatusOr<std::string> ca = ReadCa(tls.ca_file);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> crl = ReadCrl(tls.crl_file);
  if (!crl.ok()) return crl.status();
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/false);
  if (!passphrase.ok()) return passphrase.status();
  OpenOptions options;
  options.profile_dir = dir;
  options.passphrase = *passphrase;
  options.tls_ca_pem = *std::move(ca);
  options.tls_system_roots = tls.system_roots;
  options.tls_crl_pem = *std::move(crl);
  if (passphrase_out != nullptr) *passphrase_out = std::move(*passphrase);
  return Client::Open(options);
}

// Identity notices, one line each (the text names the peer, who chose it).
void PrintNotices(const std::vector<IdentityNotice>& notices) {
  for (const IdentityNotice& n : notices) {
    std::cerr << (n.kind == IdentityNotice::Kind::kHeld ? "WARNING: " : "notice: ")
              << cli::ForTerminal(n.text, /*multiline=*/false) << "\n";
  }
}

// 60 digits as 12 groups of 5, three lines of four.
std::string GroupDigits(const std::string& digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 5) {
    if (i > 0) out += (i % 20 == 0) ? "\n" : " ";
    out += digits.substr(i, 5);
  }
  return out;
}

// Transitional: Client does not expose the server address recorded in the
// profile yet (asked for in issue 3). Until it does, `sotto invite` prints a
// placeholder the therapist fills in; this picks the accessor up as soon as
// the header has it, with no change here.
template <typename C, typename = void>
struct HasServerAddress : std::false_type {};
template <typename C>
struct HasServerAddress<C, std::void_t<decltype(std::declval<const C&>().server_address())>>
    : std::true_type {};
template <typename C>
std::string ServerAddressOf(const C& client) {
  if constexpr (HasServerAddress<C>::value) {
    return std::string(client.server_address());
  } else {
    return "HOST:PORT";
  }
}

std::string When(int64_t unix_ms) {
  return FormatWhen(absl::FromUnixMillis(unix_ms), absl::LocalTimeZone(), absl::Now());
}

std::string When(absl::Time t) { return FormatWhen(t, absl::LocalTimeZone(), absl::Now()); }

std::string ShortId(absl::string_view id) { return std::string(id.substr(0, 8)); }

const char* StateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kScheduled:
      return "scheduled";
    case DeliveryState::kSent:
      return "sent";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kRead:
      return "read";
    case DeliveryState::kCancelled:
      return "cancelled";
  }
  return "sent";
}

// A WHEN flag that must lie ahead (send later, snooze).
absl::StatusOr<absl::Time> FutureWhen(absl::string_view flag, const std::string& text) {
  const absl::Time now = absl::Now();
  absl::StatusOr<absl::Time> t = ParseWhen(text, now, absl::LocalTimeZone());
  if (!t.ok()) return ForFlag(flag, t.status());
  if (*t <= now) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text, "\" is in the past (", When(*t), ")"));
  }
  return t;
}

// One message as `read` and `sync --wait` show it. `conversation` (may be
// null) is where a letter's parent is looked up to name its subject.
void PrintMessage(const Message& m, const std::string& me,
                  const std::vector<Message>* conversation) {
  std::cout << "── " << ShortId(m.id) << "  " << When(m.server_time_ms) << "  "
            << (m.outgoing ? me + " (you)" : m.peer);
  if (m.outgoing) std::cout << "  [" << StateName(m.state) << "]";
  std::cout << "\n";
  if (m.kind == MessageKind::kLetter) {
    std::cout << "Subject: " << cli::ForTerminal(m.subject, false) << "\n";
    if (!m.in_reply_to.empty()) {
      std::string parent_subject;
      if (conversation != nullptr) {
        for (const Message& other : *conversation) {
          if (other.id == m.in_reply_to) parent_subject = other.subject;
        }
      }
      if (parent_subject.empty()) {
        absl::string_view own = m.subject;
        absl::ConsumePrefix(&own, "Re: ");
        parent_subject = std::string(own);
      }
      std::cout << "  ↳ re: " << cli::ForTerminal(parent_subject, false) << " ("
                << ShortId(m.in_reply_to) << ")\n";
    }
    std::cout << "\n";
  }
  // Every body line is indented, so a message can't forge the "── " header
  // of another one; its text is made safe to print first.
  for (absl::string_view line : absl::StrSplit(cli::ForTerminal(m.text, true), '\n')) {
    std::cout << "  " << line << "\n";
  }
  std::cout << "\n";
}

// The first line after a send: where it went, or when it will.
void PrintSent(const SendResult& result) {
  PrintNotices(result.notices);
  const Message& m = result.message;
  if (m.state == DeliveryState::kScheduled) {
    std::cout << "Scheduled for " << m.peer << " at " << When(m.server_time_ms) << " (id "
              << ShortId(m.id) << "); cancel with: sotto cancel " << ShortId(m.id) << "\n";
  } else {
    std::cout << "Sent to " << m.peer << " at " << When(m.server_time_ms) << ".\n";
  }
  if (!result.expectation.has_value()) return;
  const ReplyExpectation& e = *result.expectation;
  if (e.due_ms > 0) {
    std::cout << "Expect a reply from " << m.peer << " by " << When(e.due_ms) << " (replies within "
              << FormatBusinessMinutes(static_cast<int>(e.reply_window_minutes)) << ").\n";
  }
  if (e.away_until_ms > 0) {
    std::cout << m.peer << " is away until " << When(e.away_until_ms)
              << (e.away_note.empty() ? "." : absl::StrCat(": ", cli::ForTerminal(e.away_note, false)))
              << "\n";
  } else if (!e.away_note.empty()) {
    std::cout << m.peer << " is away: " << cli::ForTerminal(e.away_note, false) << "\n";
  }
}

// The note that Sotto is not for emergencies, which a client sees after every
// send. It comes from the operator's configuration via the server; if that
// cannot be had (no expectation came back and the policy call failed), a
// built-in one stands in: leaving it out is the one wrong answer.
void PrintEmergencyNote(Client& client, const std::vector<SendResult>& results) {
  for (const SendResult& r : results) {
    if (r.expectation.has_value() && !r.expectation->emergency_note.empty()) {
      std::cout << cli::ForTerminal(r.expectation->emergency_note, false) << "\n";
      return;
    }
  }
  if (!results.empty()) {
    if (auto view = client.GetPolicy(results.front().message.peer);
        view.ok() && !view->emergency_note.empty()) {
      std::cout << cli::ForTerminal(view->emergency_note, false) << "\n";
      return;
    }
  }
  std::cout << "Sotto is not for emergencies. If you are in crisis, call or text 988, "
               "or call your local emergency number.\n";
}

void ReportSends(Client& client, const std::vector<SendResult>& results) {
  for (const SendResult& r : results) PrintSent(r);
  if (client.role() == Role::kClient) PrintEmergencyNote(client, results);
}

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

absl::Status RequireTherapist(const Client& client, absl::string_view command) {
  if (client.role() == Role::kTherapist) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("`sotto ", command, "` is for therapists"));
}

void PrintPolicy(const std::string& therapist, const ResponsePolicy& p) {
  std::cout << therapist << "'s response policy\n";
  std::cout << "  Working days:  " << FormatWeekdays(p.working_days) << "\n";
  std::cout << "  Working hours: " << FormatMinuteOfDay(p.day_start_minute) << "-"
            << FormatMinuteOfDay(p.day_end_minute) << " (" << p.time_zone << ")\n";
  std::cout << "  Reply window:  " << FormatBusinessMinutes(p.reply_window_minutes) << "\n";
  if (p.away_until_ms > absl::ToUnixMillis(absl::Now())) {
    std::cout << "  Away:          " << When(p.away_from_ms) << " until " << When(p.away_until_ms)
              << "\n";
    if (!p.away_note.empty()) {
      std::cout << "  Away note:     " << cli::ForTerminal(p.away_note, false) << "\n";
    }
  } else {
    std::cout << "  Away:          no\n";
  }
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "sotto — end-to-end encrypted messages between you and your therapist.\n"
      "The passphrase comes from SOTTO_PASSPHRASE or a prompt.\n"
      "WHEN is +2h, +30m, +1d, 09:00, \"tomorrow 09:00\", \"2026-12-01 09:00\" (local time)\n"
      "or RFC 3339; a DURATION is 2h, 90m, 1d or 1h30m."};
  app.require_subcommand(1);
  std::string profile_dir = DefaultProfileDir();
  app.add_option("--profile", profile_dir,
                 "Profile directory (default: $SOTTO_PROFILE or ~/.sotto)")
      ->type_name("DIR");
  TlsFlags tls;
  app.add_option("--ca", tls.ca_file,
                 "TLS: trust the server certificate signed by this CA (PEM). With init it is "
                 "stored in the profile; on any other command it overrides the stored one")
      ->type_name("FILE");
  app.add_flag("--system-roots", tls.system_roots,
               "TLS: trust the system's root certificates (stored by init, like --ca)");
  app.add_option("--crl", tls.crl_file,
                 "TLS: refuse server certificates this certificate revocation list (PEM, from "
                 "your provider's CA) revokes. Stored in the profile by init and by any other "
                 "command; per CA the newest list is kept")
      ->type_name("FILE");

  // init
  CLI::App* init = app.add_subcommand("init", "Create a profile and register with a server");
  std::string server, role_name, name, enrol_code, invite_code;
  init->add_option("--server", server, "Server address, HOST:PORT")
      ->type_name("HOST:PORT")
      ->required();
  init->add_option("--role", role_name, "client or therapist")
      ->type_name("ROLE")
      ->required()
      ->check(CLI::IsMember({"client", "therapist"}));
  init->add_option("--name", name, "Your handle: 3-32 of a-z 0-9 _ -, starting with a letter")
      ->type_name("NAME")
      ->required();
  init->add_option("--enrol", enrol_code,
                   "Therapists: the enrolment code from the operator (sotto-server "
                   "enrol-therapist)")
      ->type_name("CODE");
  init->add_option("--invite", invite_code, "Clients: the invite code from your therapist")
      ->type_name("CODE");

  // identity
  std::string identity_peer;
  CLI::App* safety = app.add_subcommand(
      "safety-number", "Show the safety number to compare with USER (in person or by video)");
  safety->add_option("user", identity_peer, "Their handle")->required();
  CLI::App* verify = app.add_subcommand(
      "verify", "Record that you compared USER's safety number and it matched");
  verify->add_option("user", identity_peer, "Their handle")->required();
  CLI::App* trust = app.add_subcommand(
      "trust", "Accept USER's new identity key (after their safety number changed)");
  trust->add_option("user", identity_peer, "Their handle")->required();
  CLI::App* passwd = app.add_subcommand(
      "passwd", "Change the passphrase of the profile (new one from SOTTO_NEW_PASSPHRASE or a prompt)");

  // delete-account
  CLI::App* delete_account = app.add_subcommand(
      "delete-account",
      "Delete your account on the server and wipe this profile (keys and history); asks you to "
      "type your handle");
  std::string confirm_handle;
  delete_account
      ->add_option("--confirm", confirm_handle,
                   "For scripts: your handle, instead of typing it at the prompt")
      ->type_name("HANDLE");

  // send
  CLI::App* send =
      app.add_subcommand("send", "Send a text (from the argument, or stdin when omitted or '-')");
  std::string to, text, at;
  bool team = false;
  send->add_option("USER", to, "Recipient handle (with --team: the text)")->type_name("");
  send->add_option("TEXT", text, "The message; omit or '-' to read stdin")->type_name("");
  send->add_option("--at", at, "Send later: the server holds it until WHEN")->type_name("WHEN");
  send->add_flag("--team", team, "Clients: send to every therapist of your care team");

  // letter
  CLI::App* letter = app.add_subcommand(
      "letter", "Write a letter: body from stdin, or $EDITOR when stdin is a terminal");
  std::string subject;
  letter->add_option("USER", to, "Recipient handle")->type_name("")->required();
  letter->add_option("--subject", subject, "The subject (encrypted like the body)")
      ->type_name("SUBJECT")
      ->required();
  letter->add_option("--at", at, "Send later: the server holds it until WHEN")->type_name("WHEN");

  // reply
  CLI::App* reply = app.add_subcommand(
      "reply", "Answer a message: a letter with a letter in its thread, a text with a text");
  std::string message_id;
  reply->add_option("ID", message_id, "The message's id as `sotto read` shows it")
      ->type_name("")
      ->required();
  reply->add_option("TEXT", text, "The answer; omitted: stdin, or $EDITOR when stdin is a terminal")
      ->type_name("");
  reply->add_option("--at", at, "Send later: the server holds it until WHEN")->type_name("WHEN");

  // cancel
  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a scheduled message before it goes");
  cancel->add_option("ID", message_id, "The id `sotto send --at` printed")
      ->type_name("")
      ->required();

  // sync
  CLI::App* sync = app.add_subcommand("sync", "Receive new messages");
  double wait_seconds = 0;
  sync->add_option("--wait", wait_seconds,
                   "Keep listening and print messages as they arrive, until this many "
                   "seconds pass without one")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);

  CLI::App* inbox = app.add_subcommand("inbox", "List conversations, newest first");

  CLI::App* read = app.add_subcommand("read", "Show a conversation and mark it read");
  std::string peer;
  read->add_option("USER", peer, "The other person's handle")->type_name("")->required();

  // Care links
  CLI::App* invite = app.add_subcommand("invite", "Therapists: make a one-time invite code");
  int valid_hours = 0;
  invite->add_option("--valid-hours", valid_hours, "How long the code works (default 168 = 7 days)")
      ->type_name("N")
      ->check(CLI::Range(1, 720));
  CLI::App* accept =
      app.add_subcommand("accept-invite", "Clients: join a therapist with their invite code");
  std::string code;
  accept->add_option("CODE", code, "The invite code")->type_name("")->required();
  CLI::App* links = app.add_subcommand("links", "List your care links");
  CLI::App* unlink =
      app.add_subcommand("unlink", "End the care link with someone; neither side can write after");
  unlink->add_option("USER", peer, "Their handle")->type_name("")->required();

  // policy
  CLI::App* policy = app.add_subcommand(
      "policy", "Show a therapist's response policy (yours, or your care team's)");
  policy->add_option("THERAPIST", peer, "Whose policy")->type_name("");
  CLI::App* policy_set = policy->add_subcommand(
      "set", "Therapists: publish your response policy (unset flags keep their value)");
  std::string tz, days, hours, window, away_from, away_until, away_note;
  bool clear_away = false;
  policy_set->add_option("--tz", tz, "IANA time zone, e.g. America/New_York")->type_name("ZONE");
  policy_set->add_option("--days", days, "Working days, e.g. mon-fri or mon,wed,fri")
      ->type_name("DAYS");
  policy_set->add_option("--hours", hours, "Working hours, e.g. 09:00-17:00")
      ->type_name("HH:MM-HH:MM");
  policy_set
      ->add_option("--window", window,
                   "Reply within this much working time: 8h, 90m, 1d (1d = one working "
                   "day)")
      ->type_name("DURATION");
  CLI::Option* away_from_opt =
      policy_set->add_option("--away-from", away_from, "Away from WHEN (default: now)")
          ->type_name("WHEN");
  CLI::Option* away_until_opt =
      policy_set->add_option("--away-until", away_until, "Back at WHEN")->type_name("WHEN");
  CLI::Option* away_note_opt =
      policy_set
          ->add_option("--away-note", away_note,
                       "Shown to clients while you are away (visible to the server)")
          ->type_name("TEXT");
  policy_set->add_flag("--clear-away", clear_away, "Remove the away period")
      ->excludes(away_from_opt)
      ->excludes(away_until_opt)
      ->excludes(away_note_opt);

  // The queue
  CLI::App* queue = app.add_subcommand("queue", "Therapists: who is waiting for a reply");
  bool queue_all = false;
  queue->add_flag("--all", queue_all, "Every client, also answered, snoozed and closed ones");
  CLI::App* snooze = app.add_subcommand("snooze", "Therapists: hide a conversation for a while");
  std::string until, for_duration;
  snooze->add_option("USER", peer, "The client")->type_name("")->required();
  CLI::Option* until_opt =
      snooze->add_option("--until", until, "Back in the queue at WHEN")->type_name("WHEN");
  snooze->add_option("--for", for_duration, "Back in the queue after DURATION")
      ->type_name("DURATION")
      ->excludes(until_opt);
  CLI::App* close = app.add_subcommand(
      "close", "Therapists: take a conversation out of the queue without replying");
  close->add_option("USER", peer, "The client")->type_name("")->required();
  CLI::App* claim = app.add_subcommand(
      "claim", "Therapists: answer this client yourself, so your care team does not");
  claim->add_option("USER", peer, "The client")->type_name("")->required();

  CLI::App* settings = app.add_subcommand("settings", "Show or change your settings");
  std::string read_receipts;
  settings
      ->add_option("--read-receipts", read_receipts,
                   "on or off: whether senders see when you read their messages")
      ->type_name("on|off")
      ->check(CLI::IsMember({"on", "off"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    if (app.get_subcommands().empty()) {
      // CLI11 says "A subcommand is required" even for a typo; name the typo.
      const std::vector<std::string> rest = app.remaining();
      return Fail(absl::InvalidArgumentError(
          rest.empty() ? std::string("which command? see sotto --help")
                       : absl::StrCat("unknown command \"", rest.front(), "\"; see sotto --help")));
    }
    return Fail(absl::InvalidArgumentError(e.what()));
  }

  if (init->parsed()) {
    const bool therapist = role_name == "therapist";
    if (therapist && enrol_code.empty()) {
      return Fail(absl::InvalidArgumentError(
          "a therapist needs --enrol CODE, the enrolment code from the operator"));
    }
    if (!therapist && invite_code.empty()) {
      return Fail(absl::InvalidArgumentError(
          "a client needs --invite CODE, the invite code from their therapist"));
    }
    if (therapist && !invite_code.empty()) {
      return Fail(absl::InvalidArgumentError("--invite is for clients; a therapist uses --enrol"));
    }
    if (!therapist && !enrol_code.empty()) {
      return Fail(absl::InvalidArgumentError("--enrol is for therapists; a client uses --invite"));
    }
    absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/true);
    if (!passphrase.ok()) return Fail(passphrase.status());
    RegisterOptions options;
    options.profile_dir = profile_dir;
    options.server_address = server;
    options.handle = name;
    options.role = therapist ? Role::kTherapist : Role::kClient;
    options.passphrase = std::move(*passphrase);
    options.enrolment_code = enrol_code;
    options.invite_code = invite_code;
    absl::StatusOr<std::string> ca = ReadCa(tls.ca_file);
    if (!ca.ok()) return Fail(ca.status());
    options.tls_ca_pem = *std::move(ca);
    options.tls_system_roots = tls.system_roots;
    absl::StatusOr<std::string> crl = ReadCrl(tls.crl_file);
    if (!crl.ok()) return Fail(crl.status());
    options.tls_crl_pem = *std::move(crl);
    auto client = Client::Register(options);
    if (!client.ok()) return Fail(client.status());
    std::cout << "Registered " << (*client)->handle() << " as a " << role_name << " on " << server
              << ".\nProfile: " << profile_dir << "\n";
    if (!therapist) {
      // Registration linked the client; say to whom, so the next step is
      // obvious. The registration stands even if this lookup fails.
      if (auto linked = (*client)->ListLinks(); linked.ok()) {
        for (const CareLink& link : *linked) {
          if (link.active) {
            std::cout << "Linked with " << link.peer << ". Write with: sotto send " << link.peer
                      << "\n";
          }
        }
      }
    }
    return 0;
  }

  std::string passphrase;
  auto opened = OpenProfile(profile_dir, tls, &passphrase);
  if (!opened.ok()) return Fail(opened.status());
  Client& client = **opened;
  const std::string me = client.handle();

  if (safety->parsed()) {
    auto number = client.SafetyNumber(identity_peer);
    if (!number.ok()) return Fail(number.status());
    if (number->changed) {
      std::cout << "WARNING: " << identity_peer
                << "'s identity key CHANGED. This is the number for the NEW key:\n";
    }
    std::cout << "Safety number with " << identity_peer << ":\n"
              << GroupDigits(number->digits) << "\n"
              << "Scannable: " << absl::BytesToHexString(number->scannable) << "\n";
    if (number->changed) {
      std::cout << "Compare it with " << identity_peer << " (in person or by video); if it "
                << "matches, accept it with `sotto trust " << identity_peer << "`.\n";
    } else if (number->verified) {
      std::cout << "Verified.\n";
    } else {
      std::cout << "Not verified. Compare it with " << identity_peer
                << "; if it matches, run `sotto verify " << identity_peer << "`.\n";
    }
    return 0;
  }

  if (verify->parsed()) {
    if (absl::Status s = client.MarkVerified(identity_peer); !s.ok()) return Fail(s);
    std::cout << identity_peer << " is verified. If their key changes, sending to them stops "
              << "until you compare again.\n";
    return 0;
  }

  if (trust->parsed()) {
    if (absl::Status s = client.AcceptIdentityChange(identity_peer); !s.ok()) return Fail(s);
    std::cout << "Accepted " << identity_peer << "'s new identity key (not verified: compare "
              << "it and run `sotto verify " << identity_peer
              << "`). Held messages arrive with the next `sotto sync`.\n";
    return 0;
  }

  if (passwd->parsed()) {
    absl::StatusOr<std::string> fresh = NewPassphrase();
    if (!fresh.ok()) return Fail(fresh.status());
    if (absl::Status s = client.ChangePassphrase(passphrase, *fresh); !s.ok()) return Fail(s);
    std::cout << "Passphrase changed.\n";
    return 0;
  }

  if (delete_account->parsed()) {
    if (confirm_handle.empty()) {
      std::cerr << "This deletes the account " << me << " on " << client.server_address()
                << ": the server removes its keys, undelivered messages and care links, and "
                << "this device's profile (" << profile_dir
                << ") with your message history is wiped. It cannot be undone.\n"
                << "Type your handle (" << me << ") to delete the account: ";
      std::cerr.flush();
      if (!std::getline(std::cin, confirm_handle)) confirm_handle.clear();
      confirm_handle = std::string(absl::StripAsciiWhitespace(confirm_handle));
      if (confirm_handle.empty()) {
        return Fail(absl::InvalidArgumentError("no handle typed; nothing was deleted"));
      }
    }
    if (absl::Status s = client.DeleteAccount(confirm_handle); !s.ok()) {
      if (s.code() == absl::StatusCode::kUnauthenticated) {
        // The server no longer knows this device: most likely an earlier
        // delete-account went through but its answer was lost.
        return Fail(absl::Status(
            s.code(), absl::StrCat(s.message(), "; if an earlier delete-account was cut off, "
                                                "the account is already deleted. This profile "
                                                "was kept: remove ",
                                   profile_dir, " to wipe it")));
      }
      return Fail(s);
    }
    std::cout << "Deleted the account " << me << " on " << client.server_address() << ".\n"
              << "The server removed its keys, undelivered messages and care links (the other "
                 "side sees each link ended); its audit log records that the account was "
                 "deleted, with no content.\n"
              << "This device's profile (" << profile_dir
              << ") was wiped: keys and message history are gone.\n";
    return 0;
  }

  if (send->parsed()) {
    if (team) {
      if (!text.empty()) {
        return Fail(absl::InvalidArgumentError("with --team, give only the text (no recipient)"));
      }
      SendOptions options;
      if (!at.empty()) {
        absl::StatusOr<absl::Time> when = FutureWhen("--at", at);
        if (!when.ok()) return Fail(when.status());
        options.deliver_at = *when;
      }
      absl::StatusOr<std::string> body = ReadBody(to, /*use_editor=*/false, "message");
      if (!body.ok()) return Fail(body.status());
      auto sent = client.SendToCareTeam(*body, options);
      if (!sent.ok()) return Fail(sent.status());
      ReportSends(client, *sent);
      return 0;
    }
    if (to.empty()) {
      return Fail(absl::InvalidArgumentError("whom to? sotto send USER [TEXT] (or --team TEXT)"));
    }
    SendOptions options;
    if (!at.empty()) {
      absl::StatusOr<absl::Time> when = FutureWhen("--at", at);
      if (!when.ok()) return Fail(when.status());
      options.deliver_at = *when;
    }
    absl::StatusOr<std::string> body = ReadBody(text, /*use_editor=*/false, "message");
    if (!body.ok()) return Fail(body.status());
    auto sent = client.SendText(to, *body, options);
    if (!sent.ok()) return Fail(sent.status());
    ReportSends(client, {*sent});
    return 0;
  }

  if (letter->parsed() || reply->parsed()) {
    SendOptions options;
    if (!at.empty()) {
      absl::StatusOr<absl::Time> when = FutureWhen("--at", at);
      if (!when.ok()) return Fail(when.status());
      options.deliver_at = *when;
    }
    // A letter's body never comes from argv: it is long, and argv is public.
    absl::StatusOr<std::string> body = ReadBody(letter->parsed() ? "" : text, /*use_editor=*/true,
                                                letter->parsed() ? "letter" : "reply");
    if (!body.ok()) return Fail(body.status());
    auto sent = letter->parsed() ? client.SendLetter(to, subject, *body, options)
                                 : client.Reply(message_id, *body, options);
    if (!sent.ok()) return Fail(sent.status());
    ReportSends(client, {*sent});
    return 0;
  }

  if (cancel->parsed()) {
    if (absl::Status s = client.CancelScheduled(message_id); !s.ok()) return Fail(s);
    std::cout << "Cancelled " << message_id << "; it will not be delivered.\n";
    return 0;
  }

  if (sync->parsed()) {
    absl::StatusOr<SyncStats> stats;
    if (wait_seconds > 0) {
      stats = client.Listen(absl::Seconds(wait_seconds), [&](const Message& m) {
        PrintMessage(m, me, nullptr);
        std::cout.flush();
        return true;
      });
    } else {
      stats = client.Sync();
    }
    if (!stats.ok()) return Fail(stats.status());
    std::cout << stats->received << (stats->received == 1 ? " new message" : " new messages");
    if (stats->duplicates > 0) std::cout << ", " << stats->duplicates << " repeats dropped";
    if (stats->undecryptable > 0) {
      std::cout << ", " << stats->undecryptable << " could not be decrypted";
    }
    if (stats->held > 0) {
      std::cout << ", " << stats->held << " held (sender's identity key changed)";
    }
    std::cout << ".\n";
    std::cout.flush();
    PrintNotices(stats->notices);
    if (!stats->maintenance_error.empty()) {
      std::cerr << "warning: keeping this device's keys on the server failed (retried next "
                << "sync): " << cli::ForTerminal(stats->maintenance_error, false) << "\n";
    }
    return 0;
  }

  if (inbox->parsed()) {
    auto conversations = client.ListConversations();
    if (!conversations.ok()) return Fail(conversations.status());
    if (conversations->empty()) {
      std::cout << "No conversations yet. `sotto sync` fetches new messages.\n";
      return 0;
    }
    std::cout << absl::StrFormat("%-20s %-16s %6s  %s\n", "WITH", "LAST", "UNREAD", "NEWEST");
    for (const Conversation& c : *conversations) {
      std::cout << absl::StrFormat("%-20s %-16s %6s  %s%s\n", c.peer, When(c.last_activity_ms),
                                   c.unread_count ? absl::StrCat(c.unread_count) : "",
                                   c.last_outgoing ? "you: " : "", cli::ForTerminal(c.preview, false));
    }
    return 0;
  }

  if (read->parsed()) {
    auto messages = client.ReadConversation(peer);
    if (!messages.ok()) return Fail(messages.status());
    for (const Message& m : *messages) PrintMessage(m, me, &*messages);
    return 0;
  }

  if (invite->parsed()) {
    if (absl::Status s = RequireTherapist(client, "invite"); !s.ok()) return Fail(s);
    auto made =
        valid_hours > 0 ? client.CreateInvite(absl::Hours(valid_hours)) : client.CreateInvite();
    if (!made.ok()) return Fail(made.status());
    std::cout << "Invite code: " << made->code << "\n"
              << "Valid until " << When(made->expires_at_ms) << ", for one use.\n"
              << "A new client runs:\n"
              << "  sotto init --server " << ServerAddressOf(client)
              << " --role client --name <choose a name> --invite " << made->code << "\n"
              << "A client who already has a profile runs:\n"
              << "  sotto accept-invite " << made->code << "\n";
    return 0;
  }

  if (accept->parsed()) {
    auto therapist = client.AcceptInvite(code);
    if (!therapist.ok()) return Fail(therapist.status());
    std::cout << "Linked with " << *therapist << ". Write with: sotto send " << *therapist << "\n";
    return 0;
  }

  if (links->parsed()) {
    auto all = client.ListLinks();
    if (!all.ok()) return Fail(all.status());
    if (all->empty()) {
      std::cout << (client.role() == Role::kTherapist
                        ? "No clients yet. `sotto invite` makes an invite code.\n"
                        : "No therapist yet. Ask yours for an invite code, then run "
                          "`sotto accept-invite CODE`.\n");
      return 0;
    }
    std::cout << absl::StrFormat("%-20s %-7s %s\n", "WHO", "STATE", "SINCE");
    for (const CareLink& link : *all) {
      std::string line = absl::StrFormat("%-20s %-7s %s", link.peer,
                                         link.active ? "active" : "ended", When(link.since_ms));
      if (!link.active && link.ended_ms > 0) {
        absl::StrAppend(&line, "  (ended ", When(link.ended_ms),
                        link.ended_by.empty() ? "" : absl::StrCat(" by ", link.ended_by), ")");
      }
      std::cout << line << "\n";
    }
    return 0;
  }

  if (unlink->parsed()) {
    if (absl::Status s = client.EndLink(peer); !s.ok()) return Fail(s);
    std::cout << "Ended the care link with " << peer
              << ". Neither of you can send new messages to the other.\n";
    return 0;
  }

  if (policy_set->parsed()) {
    if (absl::Status s = RequireTherapist(client, "policy set"); !s.ok()) return Fail(s);
    if (tz.empty() && days.empty() && hours.empty() && window.empty() && away_from.empty() &&
        away_until.empty() && away_note_opt->count() == 0 && !clear_away) {
      return Fail(absl::InvalidArgumentError("nothing to change; see sotto policy set --help"));
    }
    // Start from what is published, so `policy set --away-until ...` does not
    // reset the working hours.
    auto current = client.GetPolicy(me);
    if (!current.ok()) return Fail(current.status());
    ResponsePolicy p = current->policy;
    if (!tz.empty()) {
      absl::TimeZone zone;
      if (!absl::LoadTimeZone(tz, &zone)) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("--tz \"", tz,
                         "\" is not a time zone; use an IANA name such as "
                         "America/New_York")));
      }
      p.time_zone = tz;
    }
    if (!days.empty()) {
      auto parsed = ParseWeekdays(days);
      if (!parsed.ok()) return Fail(ForFlag("--days", parsed.status()));
      p.working_days = *parsed;
    }
    if (!hours.empty()) {
      auto parsed = ParseDayHours(hours);
      if (!parsed.ok()) return Fail(ForFlag("--hours", parsed.status()));
      p.day_start_minute = parsed->start_minute;
      p.day_end_minute = parsed->end_minute;
    }
    if (!window.empty()) {
      // "1d" is one working day, as long as the (new) working hours.
      auto parsed = ParseDuration(window, absl::Minutes(p.day_end_minute - p.day_start_minute));
      if (!parsed.ok()) return Fail(ForFlag("--window", parsed.status()));
      p.reply_window_minutes = static_cast<int>(absl::ToInt64Minutes(*parsed));
    }
    if (clear_away) {
      p.away_from_ms = p.away_until_ms = 0;
      p.away_note.clear();
    }
    const absl::Time now = absl::Now();
    if (!away_from.empty() || !away_until.empty()) {
      if (away_until.empty()) {
        return Fail(absl::InvalidArgumentError("--away-from needs --away-until"));
      }
      absl::Time from = now;
      if (!away_from.empty()) {
        auto parsed = ParseWhen(away_from, now, absl::LocalTimeZone());
        if (!parsed.ok()) return Fail(ForFlag("--away-from", parsed.status()));
        from = *parsed;
      }
      auto back = ParseWhen(away_until, now, absl::LocalTimeZone());
      if (!back.ok()) return Fail(ForFlag("--away-until", back.status()));
      if (*back <= from) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("--away-until \"", away_until, "\" (", When(*back),
                         ") is not after the start (", When(from), ")")));
      }
      p.away_from_ms = absl::ToUnixMillis(from);
      p.away_until_ms = absl::ToUnixMillis(*back);
    }
    if (away_note_opt->count() > 0) p.away_note = away_note;
    if (absl::Status s = client.SetPolicy(p); !s.ok()) return Fail(s);
    std::cout << "Published your response policy.\n";
    auto stored = client.GetPolicy(me);
    if (stored.ok()) PrintPolicy(me, stored->policy);
    return 0;
  }

  if (policy->parsed()) {
    std::vector<std::string> therapists;
    if (!peer.empty()) {
      therapists.push_back(peer);
    } else if (client.role() == Role::kTherapist) {
      therapists.push_back(me);
    } else {
      auto team = client.ListLinks();
      if (!team.ok()) return Fail(team.status());
      for (const CareLink& link : *team) {
        if (link.active) therapists.push_back(link.peer);
      }
      if (therapists.empty()) {
        std::cout << "No therapist yet. Ask yours for an invite code, then run "
                     "`sotto accept-invite CODE`.\n";
        return 0;
      }
    }
    std::string emergency_note;
    for (size_t i = 0; i < therapists.size(); ++i) {
      auto view = client.GetPolicy(therapists[i]);
      if (!view.ok()) return Fail(view.status());
      if (i > 0) std::cout << "\n";
      PrintPolicy(therapists[i], view->policy);
      emergency_note = view->emergency_note;
    }
    if (!emergency_note.empty()) std::cout << cli::ForTerminal(emergency_note, false) << "\n";
    return 0;
  }

  if (queue->parsed()) {
    if (absl::Status s = RequireTherapist(client, "queue"); !s.ok()) return Fail(s);
    auto view = client.ListQueue(queue_all);
    if (!view.ok()) return Fail(view.status());
    if (view->entries.empty()) {
      std::cout
          << (queue_all
                  ? "No conversations with linked clients. `sotto invite` makes an invite code.\n"
                  : "Nobody is waiting for a reply.\n");
      return 0;
    }
    const auto state_name = [](ConversationState s) {
      switch (s) {
        case ConversationState::kWaiting:
          return "waiting";
        case ConversationState::kAnswered:
          return "answered";
        case ConversationState::kSnoozed:
          return "snoozed";
        case ConversationState::kClosed:
          return "closed";
      }
      return "waiting";
    };
    std::string header = absl::StrFormat("%-20s ", "CLIENT");
    if (queue_all) absl::StrAppendFormat(&header, "%-9s ", "STATE");
    absl::StrAppendFormat(&header, "%7s  %-8s %s", "WAITING", "WAITED", "DUE");
    std::cout << header << "\n";
    for (const QueueEntry& e : view->entries) {
      std::string line = absl::StrFormat("%-20s ", e.client);
      if (queue_all) absl::StrAppendFormat(&line, "%-9s ", state_name(e.state));
      const std::string waited =
          e.oldest_waiting_ms > 0
              ? FormatWaited(absl::Milliseconds(view->now_ms - e.oldest_waiting_ms))
              : "-";
      absl::StrAppendFormat(&line, "%7d  %-8s %-16s", e.waiting_count, waited,
                            e.due_ms > 0 ? When(e.due_ms) : "-");
      std::vector<std::string> notes;
      if (e.overdue) notes.push_back("OVERDUE");
      if (e.state == ConversationState::kSnoozed && e.snoozed_until_ms > 0) {
        notes.push_back(absl::StrCat("snoozed until ", When(e.snoozed_until_ms)));
      }
      if (!e.claimed_by.empty()) {
        notes.push_back(absl::StrCat("claimed by ", e.claimed_by == me ? "you" : e.claimed_by));
      }
      if (!notes.empty()) absl::StrAppend(&line, "  ", absl::StrJoin(notes, "  "));
      std::cout << absl::StripTrailingAsciiWhitespace(line) << "\n";
    }
    return 0;
  }

  if (snooze->parsed()) {
    if (absl::Status s = RequireTherapist(client, "snooze"); !s.ok()) return Fail(s);
    absl::Time wake;
    if (!until.empty()) {
      auto parsed = FutureWhen("--until", until);
      if (!parsed.ok()) return Fail(parsed.status());
      wake = *parsed;
    } else if (!for_duration.empty()) {
      auto parsed = ParseDuration(for_duration);
      if (!parsed.ok()) return Fail(ForFlag("--for", parsed.status()));
      wake = absl::Now() + *parsed;
    } else {
      return Fail(absl::InvalidArgumentError("how long? give --until WHEN or --for DURATION"));
    }
    if (absl::Status s = client.Snooze(peer, wake); !s.ok()) return Fail(s);
    std::cout << "Snoozed " << peer << " until " << When(wake)
              << "; back in the queue then, or sooner if they write.\n";
    return 0;
  }

  if (close->parsed()) {
    if (absl::Status s = RequireTherapist(client, "close"); !s.ok()) return Fail(s);
    if (absl::Status s = client.Close(peer); !s.ok()) return Fail(s);
    std::cout << "Closed the conversation with " << peer
              << "; a new message from them reopens it.\n";
    return 0;
  }

  if (claim->parsed()) {
    if (absl::Status s = RequireTherapist(client, "claim"); !s.ok()) return Fail(s);
    if (absl::Status s = client.Claim(peer); !s.ok()) return Fail(s);
    std::cout << "Claimed the conversation with " << peer
              << "; your care team sees that you are answering.\n";
    return 0;
  }

  if (settings->parsed()) {
    if (!read_receipts.empty()) {
      if (absl::Status s = client.SetReadReceipts(read_receipts == "on"); !s.ok()) return Fail(s);
    }
    auto receipts = client.ReadReceipts();
    if (!receipts.ok()) return Fail(receipts.status());
    std::cout << "Handle:        " << me << " ("
              << (client.role() == Role::kTherapist ? "therapist" : "client") << ")\n"
              << "Profile:       " << profile_dir << "\n"
              << "Read receipts: " << (*receipts ? "on" : "off")
              << (*receipts ? " (senders see when you have read their messages)"
                            : " (senders see delivery, not when you read)")
              << "\n";
    return 0;
  }
  return 0;
}

}  // namespace sotto::cli

int main(int argc, char** argv) {
  // gRPC logs its own view of a failure on stderr ("Handshake failed with
  // fatal error ..."); the CLI reports each error once, as one line that
  // names the reason. GRPC_VERBOSITY=DEBUG (or any value) keeps gRPC's log
  // for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  return sotto::cli::Main(argc, argv);
}
