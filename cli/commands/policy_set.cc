// policy set: a therapist publishes working days and hours, the reply
// window and away periods. Unset flags keep the published value.

#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

struct PolicySetArgs {
  std::string tz, days, hours, window, away_from, away_until, away_note;
  bool clear_away = false;
  // Set when --away-note was given, even empty (to clear the note).
  CLI::Option* away_note_opt = nullptr;

  bool away_note_given() const { return away_note_opt->count() > 0; }
  bool empty() const {
    return tz.empty() && days.empty() && hours.empty() && window.empty() && away_from.empty() &&
           away_until.empty() && !away_note_given() && !clear_away;
  }
};

// --tz, --days, --hours and --window applied to `p`.
absl::Status ApplyWorkingTime(const PolicySetArgs& a, ResponsePolicy& p) {
  if (!a.tz.empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(a.tz, &zone)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tz \"", a.tz, "\" is not a time zone; use an IANA name such as America/New_York"));
    }
    p.time_zone = a.tz;
  }
  if (!a.days.empty()) {
    auto parsed = ParseWeekdays(a.days);
    if (!parsed.ok()) return ForFlag("--days", parsed.status());
    p.working_days = *parsed;
  }
  if (!a.hours.empty()) {
    auto parsed = ParseDayHours(a.hours);
    if (!parsed.ok()) return ForFlag("--hours", parsed.status());
    p.day_start_minute = parsed->start_minute;
    p.day_end_minute = parsed->end_minute;
  }
  if (!a.window.empty()) {
    // "1d" is one working day, as long as the (new) working hours.
    auto parsed = ParseDuration(a.window, absl::Minutes(p.day_end_minute - p.day_start_minute));
    if (!parsed.ok()) return ForFlag("--window", parsed.status());
    p.reply_window_minutes = static_cast<int>(absl::ToInt64Minutes(*parsed));
  }
  return absl::OkStatus();
}

// --clear-away, --away-from, --away-until and --away-note applied to `p`.
absl::Status ApplyAway(const PolicySetArgs& a, ResponsePolicy& p) {
  if (a.clear_away) {
    p.away_from_ms = p.away_until_ms = 0;
    p.away_note.clear();
  }
  const absl::Time now = absl::Now();
  if (!a.away_from.empty() || !a.away_until.empty()) {
    if (a.away_until.empty()) return absl::InvalidArgumentError("--away-from needs --away-until");
    absl::Time from = now;
    if (!a.away_from.empty()) {
      auto parsed = ParseWhen(a.away_from, now, LocalZone());
      if (!parsed.ok()) return ForFlag("--away-from", parsed.status());
      from = *parsed;
    }
    auto back = ParseWhen(a.away_until, now, LocalZone());
    if (!back.ok()) return ForFlag("--away-until", back.status());
    if (*back <= from) {
      return absl::InvalidArgumentError(absl::StrCat("--away-until \"", a.away_until, "\" (",
                                                     When(*back), ") is not after the start (",
                                                     When(from), ")"));
    }
    p.away_from_ms = absl::ToUnixMillis(from);
    p.away_until_ms = absl::ToUnixMillis(*back);
  }
  if (a.away_note_given()) p.away_note = a.away_note;
  return absl::OkStatus();
}

absl::Status SetPolicy(Context& context, const PolicySetArgs& a) {
  if (a.empty()) {
    return absl::InvalidArgumentError("nothing to change; see sotto policy set --help");
  }
  absl::StatusOr<Client*> opened = context.Open();
  if (!opened.ok()) return opened.status();
  Client& client = **opened;
  if (absl::Status s = RequireTherapist(client, "policy set"); !s.ok()) return s;
  // Start from what is published, so `policy set --away-until ...` does not
  // reset the working hours.
  auto current = client.GetPolicy(client.handle());
  if (!current.ok()) return current.status();
  ResponsePolicy p = current->policy;
  if (absl::Status s = ApplyWorkingTime(a, p); !s.ok()) return s;
  if (absl::Status s = ApplyAway(a, p); !s.ok()) return s;
  if (absl::Status s = client.SetPolicy(p); !s.ok()) return s;
  Out() << "Published your response policy.\n";
  auto stored = client.GetPolicy(client.handle());
  if (stored.ok()) PrintPolicy(client.handle(), stored->policy);
  return absl::OkStatus();
}

}  // namespace

void RegisterPolicySet(CLI::App* policy, Context& context) {
  CLI::App* set = policy->add_subcommand(
      "set", "Therapists: publish your response policy (unset flags keep their value)");
  auto a = std::make_shared<PolicySetArgs>();
  set->add_option("--tz", a->tz, "IANA time zone, e.g. America/New_York")->type_name("ZONE");
  set->add_option("--days", a->days, "Working days, e.g. mon-fri or mon,wed,fri")
      ->type_name("DAYS");
  set->add_option("--hours", a->hours, "Working hours, e.g. 09:00-17:00")->type_name("HH:MM-HH:MM");
  set->add_option("--window", a->window,
                  "Reply within this much working time: 8h, 90m, 1d (1d = one working day)")
      ->type_name("DURATION");
  CLI::Option* away_from =
      set->add_option("--away-from", a->away_from, "Away from WHEN (default: now)")
          ->type_name("WHEN");
  CLI::Option* away_until =
      set->add_option("--away-until", a->away_until, "Back at WHEN")->type_name("WHEN");
  a->away_note_opt = set->add_option("--away-note", a->away_note,
                                     "Shown to clients while you are away (visible to the server)")
                         ->type_name("TEXT");
  set->add_flag("--clear-away", a->clear_away, "Remove the away period")
      ->excludes(away_from)
      ->excludes(away_until)
      ->excludes(a->away_note_opt);
  set->footer(kWhenHelp);
  set->callback([&context, a] { context.Then([&context, a] { return SetPolicy(context, *a); }); });
}

}  // namespace sotto::cli
