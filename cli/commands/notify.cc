// notify: opt in to, out of, or show content-free email notifications.
//   sotto notify                        show the setting
//   sotto notify --email ADDR           one mail per new message (coalesced)
//   sotto notify --email ADDR --digest EVERY   therapists: a queue digest
//   sotto notify --off                  stop, and have the server forget ADDR

#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "io.h"
#include "json_writer.h"
#include "output.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

struct NotifyArgs {
  std::string email;
  std::string digest;
  bool off = false;
  bool json = false;
};

const char* ModeName(NotificationMode mode) {
  switch (mode) {
    case NotificationMode::kEachMessage:
      return "each-message";
    case NotificationMode::kDigest:
      return "digest";
    default:
      return "off";
  }
}

void Print(const NotificationSettings& s, bool json) {
  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("mode");
    w.String(ModeName(s.mode));
    w.Key("email");
    if (s.email.empty()) {
      w.Null();
    } else {
      w.String(s.email);
    }
    w.Key("digest_interval_minutes");
    w.Int(s.digest_interval_minutes);
    w.Key("server_sends_mail");
    w.Bool(s.server_sends_mail);
    w.EndObject();
    Out() << w.Take();
    return;
  }
  if (!s.server_sends_mail) {
    Out() << "This server sends no email notifications (no mail relay is configured).\n";
    return;
  }
  switch (s.mode) {
    case NotificationMode::kEachMessage:
      Out() << "Email notifications on: " << s.email
            << " is told \"You have a new message on Sotto\" (never who or what), at most "
               "once in a while and not while you are listening.\n";
      break;
    case NotificationMode::kDigest:
      Out() << "Email digest on: " << s.email << " gets at most one mail every "
            << absl::FormatDuration(absl::Minutes(s.digest_interval_minutes))
            << " saying how many people wait and when the oldest is due.\n";
      break;
    default:
      Out() << "Email notifications are off. Turn them on with: sotto notify --email ADDR\n";
  }
}

absl::Status Notify(Context& context, const NotifyArgs& a) {
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (a.off) {
    if (absl::Status s = client.DisableNotifications(); !s.ok()) return s;
    Out() << "Email notifications are off; the server deleted your address.\n";
    return absl::OkStatus();
  }
  if (a.email.empty()) {
    absl::StatusOr<NotificationSettings> s = client.GetNotificationSettings();
    if (!s.ok()) return s.status();
    Print(*s, a.json);
    return absl::OkStatus();
  }
  std::optional<absl::Duration> every;
  if (!a.digest.empty()) {
    if (absl::Status s = RequireTherapist(client, "notify --digest"); !s.ok()) return s;
    absl::StatusOr<absl::Duration> parsed = ParseDuration(a.digest);
    if (!parsed.ok()) return ForFlag("--digest", parsed.status());
    every = *parsed;
  }
  absl::StatusOr<NotificationSettings> s = client.SetEmailNotifications(a.email, every);
  if (!s.ok()) return s.status();
  Print(*s, a.json);
  return absl::OkStatus();
}

}  // namespace

void RegisterNotifyCommands(CLI::App& app, Context& context) {
  CLI::App* notify = app.add_subcommand(
      "notify", "Email notifications without content: show, turn on (--email) or off (--off)");
  auto a = std::make_shared<NotifyArgs>();
  CLI::Option* email =
      notify->add_option("--email", a->email, "Mail ADDR when something waits for you")
          ->type_name("ADDR");
  notify
      ->add_option("--digest", a->digest,
                   "Therapists: instead, at most one digest of your queue every DURATION "
                   "(15m to 7d)")
      ->type_name("DURATION")
      ->needs(email);
  notify->add_flag("--off", a->off, "Stop the mails; the server deletes your address")
      ->excludes(email);
  AddJsonFlag(notify, &a->json);
  notify->callback([&context, a] { context.Then([&context, a] { return Notify(context, *a); }); });
}

}  // namespace sotto::cli
