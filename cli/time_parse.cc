#include "time_parse.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "sotto/iso_weekday.h"

namespace sotto::cli {
namespace {

constexpr std::array<const char*, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<const char*, 7> kFullDayNames = {"monday", "tuesday",  "wednesday", "thursday",
                                                      "friday", "saturday", "sunday"};
constexpr std::array<const char*, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads "HH:MM" (or "H:MM", or "H" when `allow_bare_hour`) as minutes after
// midnight, 0..1440.
bool ParseClock(absl::string_view text, bool allow_bare_hour, int* minute_of_day) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() > 2 || (parts.size() == 1 && !allow_bare_hour)) return false;
  for (absl::string_view part : parts) {
    if (part.empty() || part.size() > 2) return false;
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  int hour = 0, minute = 0;
  if (!absl::SimpleAtoi(parts[0], &hour)) return false;
  if (parts.size() == 2) {
    if (parts[1].size() != 2 || !absl::SimpleAtoi(parts[1], &minute)) return false;
  }
  if (minute > 59 || hour > 24 || (hour == 24 && minute != 0)) return false;
  *minute_of_day = hour * 60 + minute;
  return true;
}

absl::Status BadWhen(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a time; use +2h, +30m, +1d, 09:00, \"tomorrow 09:00\", "
                   "\"2026-12-01 09:00\" or RFC 3339 (2026-12-01T09:00:00Z)"));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text, absl::Duration day) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a duration; use e.g. 2h, 90m, 1d or 1h30m"));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return bad();
  absl::Duration total = absl::ZeroDuration();
  int last_rank = -1;  // d = 0, h = 1, m = 2: each once, largest first
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) {
      ++digits;
    }
    // Six digits is years of minutes: anything longer is a typo, and keeping
    // it short keeps the arithmetic far from overflow.
    if (digits == 0 || digits > 6 || digits == rest.size()) return bad();
    int64_t n = 0;
    if (!absl::SimpleAtoi(rest.substr(0, digits), &n)) return bad();
    const char unit = absl::ascii_tolower(static_cast<unsigned char>(rest[digits]));
    int rank;
    absl::Duration unit_length;
    switch (unit) {
      case 'd':
        rank = 0;
        unit_length = day;
        break;
      case 'h':
        rank = 1;
        unit_length = absl::Hours(1);
        break;
      case 'm':
        rank = 2;
        unit_length = absl::Minutes(1);
        break;
      default:
        return bad();
    }
    if (rank <= last_rank) return bad();
    last_rank = rank;
    total += n * unit_length;
    rest.remove_prefix(digits + 1);
  }
  if (total <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is no time at all; give a duration longer than zero"));
  }
  return total;
}

absl::StatusOr<absl::Time> ParseWhen(absl::string_view text, absl::Time now, absl::TimeZone zone) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return BadWhen(text);

  if (absl::string_view rest = trimmed; absl::ConsumePrefix(&rest, "+")) {
    absl::StatusOr<absl::Duration> d = ParseDuration(rest);
    if (!d.ok()) return BadWhen(text);
    return now + *d;
  }

  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  const auto at = [&](absl::CivilDay day, int minute_of_day) {
    return absl::FromCivil(absl::CivilMinute(day) + minute_of_day, zone);
  };

  int minute_of_day = 0;
  if (ParseClock(trimmed, /*allow_bare_hour=*/false, &minute_of_day)) {
    const absl::Time t = at(today, minute_of_day);
    return t > now ? t : at(today + 1, minute_of_day);
  }

  const std::string lower = absl::AsciiStrToLower(trimmed);
  for (const auto& [word, offset] : {std::pair<absl::string_view, int>{"today", 0},
                                     std::pair<absl::string_view, int>{"tomorrow", 1}}) {
    absl::string_view rest = lower;
    if (!absl::ConsumePrefix(&rest, word)) continue;
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (rest.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" needs a time of day, e.g. \"", word, " 09:00\""));
    }
    if (!ParseClock(rest, /*allow_bare_hour=*/false, &minute_of_day)) return BadWhen(text);
    return at(today + offset, minute_of_day);
  }

  absl::Time t;
  std::string ignored;
  // Dates and local times must match the whole text: absl::ParseTime allows
  // only trailing whitespace, which we already stripped.
  if (absl::ParseTime(absl::RFC3339_full, std::string(trimmed), &t, &ignored)) return t;
  if (absl::ParseTime("%Y-%m-%d %H:%M", std::string(trimmed), zone, &t, &ignored)) return t;
  if (absl::ParseTime("%Y-%m-%d", std::string(trimmed), zone, &t, &ignored)) return t;
  return BadWhen(text);
}

std::string FormatWhen(absl::Time t, absl::TimeZone zone, absl::Time now) {
  const absl::CivilMinute m = absl::ToCivilMinute(t, zone);
  const absl::CivilDay day(m);
  std::string out = absl::StrFormat("%s %d %s", kDayNames[IsoWeekday(day) - 1], m.day(),
                                    kMonthNames[m.month() - 1]);
  if (m.year() != absl::ToCivilYear(now, zone).year()) absl::StrAppend(&out, " ", m.year());
  absl::StrAppendFormat(&out, " %02d:%02d", m.hour(), m.minute());
  return out;
}

std::string FormatWaited(absl::Duration d) {
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes < 1) return "<1m";
  const int64_t days = minutes / (24 * 60);
  const int64_t hours = minutes / 60 % 24;
  const int64_t mins = minutes % 60;
  // Past a day, minutes are noise.
  if (days > 0) return hours > 0 ? absl::StrCat(days, "d", hours, "h") : absl::StrCat(days, "d");
  if (hours > 0) return mins > 0 ? absl::StrCat(hours, "h", mins, "m") : absl::StrCat(hours, "h");
  return absl::StrCat(mins, "m");
}

std::string FormatBusinessMinutes(int minutes) {
  if (minutes < 60) {
    return absl::StrCat(minutes, minutes == 1 ? " business minute" : " business minutes");
  }
  const int hours = minutes / 60;
  if (minutes % 60 == 0) {
    return absl::StrCat(hours, hours == 1 ? " business hour" : " business hours");
  }
  return absl::StrCat(hours, "h", minutes % 60, "m of business hours");
}

absl::StatusOr<std::vector<int>> ParseWeekdays(absl::string_view text) {
  const auto day_number = [](absl::string_view name) -> int {
    const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    if (lower.size() < 3) return 0;
    for (int i = 0; i < 7; ++i) {
      if (absl::string_view(kFullDayNames[i]).substr(0, lower.size()) == lower) return i + 1;
    }
    return 0;
  };
  bool chosen[8] = {};
  bool any = false;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(item, '-');
    const int first = ends.empty() ? 0 : day_number(ends.front());
    const int last = ends.size() == 2 ? day_number(ends.back()) : first;
    if (ends.size() > 2 || first == 0 || last == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not a set of days; use e.g. mon-fri or mon,wed,fri"));
    }
    // A range may wrap past Sunday: sat-mon is Saturday, Sunday, Monday.
    for (int d = first;; d = d % 7 + 1) {
      chosen[d] = true;
      if (d == last) break;
    }
    any = true;
  }
  if (!any) return absl::InvalidArgumentError("no working days given");
  std::vector<int> days;
  for (int d = 1; d <= 7; ++d) {
    if (chosen[d]) days.push_back(d);
  }
  return days;
}

std::string FormatWeekdays(const std::vector<int>& days) {
  bool chosen[8] = {};
  for (int d : days) {
    if (d >= 1 && d <= 7) chosen[d] = true;
  }
  std::vector<std::string> parts;
  for (int d = 1; d <= 7; ++d) {
    if (!chosen[d]) continue;
    int end = d;
    while (end < 7 && chosen[end + 1]) ++end;
    if (end - d >= 2) {
      parts.push_back(absl::StrCat(kDayNames[d - 1], "-", kDayNames[end - 1]));
      d = end;
    } else {
      parts.push_back(kDayNames[d - 1]);
    }
  }
  if (parts.empty()) return "none";
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<DayHours> ParseDayHours(absl::string_view text) {
  std::vector<absl::string_view> ends = absl::StrSplit(text, '-');
  DayHours hours;
  if (ends.size() != 2 ||
      !ParseClock(absl::StripAsciiWhitespace(ends[0]), true, &hours.start_minute) ||
      !ParseClock(absl::StripAsciiWhitespace(ends[1]), true, &hours.end_minute)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a span of hours; use e.g. 09:00-17:00"));
  }
  if (hours.end_minute <= hours.start_minute) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": the working day must end after it starts"));
  }
  return hours;
}

std::string FormatMinuteOfDay(int minute) {
  return absl::StrFormat("%02d:%02d", minute / 60, minute % 60);
}

}  // namespace sotto::cli
