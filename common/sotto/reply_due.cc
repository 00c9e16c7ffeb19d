// The reply-due computation shared by the server and the client library
// (reply_due.h). Moved from server/domain/response_policy.cc (issue 18).

#include "sotto/reply_due.h"

#include <algorithm>
#include <bitset>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "sotto/iso_weekday.h"

namespace sotto::reply_due {
namespace {

// These repeat proto/sotto/v1/care.proto.
constexpr int kMaxReplyWindowMinutes = 43200;
constexpr size_t kMaxAwayNoteBytes = 500;
constexpr int kMinutesPerDay = 1440;
// Longest IANA name today is ~32 bytes; the cap only bounds what we hand to
// the tzdata loader.
constexpr size_t kMaxTimeZoneBytes = 64;
// ReplyDueMs walks at most this many local calendar days (five years).
constexpr int kMaxDaysScanned = 5 * 366;
// Latest accepted start: 9999-12-31T23:59:59.999Z, so that adding a window
// (≤ 30 days) plus years of scanning stays far from int64 overflow and inside
// the range civil-time conversions handle.
constexpr int64_t kMaxStartMs = 253402300799999;

// The name's form, without touching tzdata. IANA names are ASCII letters,
// digits and "/_-+"; refusing everything else keeps path tricks ("../") and
// POSIX TZ strings away from the loader. "localtime" would silently mean the
// server's own zone.
absl::Status CheckTimeZoneName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("time_zone: empty");
  if (name.size() > kMaxTimeZoneBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("time_zone: longer than ", kMaxTimeZoneBytes, " bytes"));
  }
  bool ok = name.front() != '/' && name != "localtime";
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
        c != '+') {
      ok = false;
    }
  }
  if (name.find("..") != absl::string_view::npos) ok = false;
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("time_zone: \"", absl::CHexEscape(name), "\" is not an IANA zone name"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  if (absl::Status s = CheckTimeZoneName(name); !s.ok()) return s;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name), &tz)) {
    return absl::InvalidArgumentError(absl::StrCat("time_zone: unknown zone \"", name, "\""));
  }
  return tz;
}

// Every check of ValidatePolicy except loading the zone from tzdata.
absl::Status ValidateFieldsImpl(const Policy& p) {
  if (absl::Status s = CheckTimeZoneName(p.time_zone); !s.ok()) return s;
  if (p.working_days.empty()) {
    return absl::InvalidArgumentError("working_days: at least one day is required");
  }
  std::bitset<8> seen;
  for (int d : p.working_days) {
    if (d < 1 || d > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("working_days: ", d, " is not an ISO weekday 1..7"));
    }
    if (seen[d]) {
      return absl::InvalidArgumentError(absl::StrCat("working_days: ", d, " is repeated"));
    }
    seen[d] = true;
  }
  if (p.day_start_minute < 0 || p.day_start_minute > kMinutesPerDay) {
    return absl::InvalidArgumentError(
        absl::StrCat("day_start_minute: ", p.day_start_minute, " is outside 0..1440"));
  }
  if (p.day_end_minute < 0 || p.day_end_minute > kMinutesPerDay) {
    return absl::InvalidArgumentError(
        absl::StrCat("day_end_minute: ", p.day_end_minute, " is outside 0..1440"));
  }
  if (p.day_end_minute <= p.day_start_minute) {
    return absl::InvalidArgumentError(absl::StrCat("day_end_minute: ", p.day_end_minute,
                                                   " is not after day_start_minute ",
                                                   p.day_start_minute));
  }
  if (p.reply_window_minutes < 1 || p.reply_window_minutes > kMaxReplyWindowMinutes) {
    return absl::InvalidArgumentError(absl::StrCat("reply_window_minutes: ", p.reply_window_minutes,
                                                   " is outside 1..", kMaxReplyWindowMinutes));
  }
  const bool has_from = p.away_from_ms != 0;
  const bool has_until = p.away_until_ms != 0;
  if (has_from != has_until) {
    return absl::InvalidArgumentError(has_from ? "away_until_ms: must be set with away_from_ms"
                                               : "away_from_ms: must be set with away_until_ms");
  }
  if (has_from && p.away_until_ms <= p.away_from_ms) {
    return absl::InvalidArgumentError(absl::StrCat("away_until_ms: ", p.away_until_ms,
                                                   " is not after away_from_ms ", p.away_from_ms));
  }
  if (p.away_note.size() > kMaxAwayNoteBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("away_note: ", p.away_note.size(), " bytes, more than ", kMaxAwayNoteBytes));
  }
  return absl::OkStatus();
}

// The first instant whose local time is `minute` minutes after midnight of
// `day` (minute 1440 is the next midnight). A skipped local time (spring
// forward) maps to the moment of the jump; a repeated one (fall back) to its
// first occurrence when `first` and to its second otherwise.
int64_t LocalMinuteToMs(const absl::TimeZone& tz, absl::CivilDay day, int minute, bool first) {
  const absl::TimeZone::TimeInfo info =
      tz.At(absl::CivilSecond(day.year(), day.month(), day.day(), minute / 60, minute % 60, 0));
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return absl::ToUnixMillis(info.trans);
    case absl::TimeZone::TimeInfo::REPEATED:
      return absl::ToUnixMillis(first ? info.pre : info.post);
    case absl::TimeZone::TimeInfo::UNIQUE:
      break;
  }
  return absl::ToUnixMillis(info.pre);
}

}  // namespace

absl::Status ValidatePolicyFields(const Policy& policy) { return ValidateFieldsImpl(policy); }

absl::Status ValidatePolicy(const Policy& policy) {
  if (absl::Status s = ValidateFieldsImpl(policy); !s.ok()) return s;
  return LoadZone(policy.time_zone).status();
}

absl::StatusOr<int64_t> ReplyDueMs(const Policy& policy, int64_t start_ms) {
  if (absl::Status s = ValidateFieldsImpl(policy); !s.ok()) return s;
  absl::StatusOr<absl::TimeZone> tz = LoadZone(policy.time_zone);
  if (!tz.ok()) return tz.status();
  if (start_ms < 0 || start_ms > kMaxStartMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("start_ms: ", start_ms, " is outside year 1970..9999"));
  }

  std::bitset<8> working;
  for (int d : policy.working_days) working[d] = true;
  const bool has_away = policy.away_until_ms != 0;

  int64_t remaining_ms = int64_t{policy.reply_window_minutes} * 60000;
  // Start a day early: where midnight itself is repeated (zones that fall
  // back at 00:00), yesterday's window can close after `start_ms`.
  const absl::CivilDay first_day = absl::ToCivilDay(absl::FromUnixMillis(start_ms), *tz) - 1;
  for (int i = 0; i <= kMaxDaysScanned; ++i) {
    const absl::CivilDay day = first_day + i;
    if (!working[IsoWeekday(day)]) continue;
    const int64_t open =
        std::max(start_ms, LocalMinuteToMs(*tz, day, policy.day_start_minute, /*first=*/true));
    const int64_t close = LocalMinuteToMs(*tz, day, policy.day_end_minute, /*first=*/false);
    if (close <= open) continue;

    // [open, close) minus the away period leaves at most two pieces, in order.
    std::pair<int64_t, int64_t> pieces[2] = {{open, close}, {0, 0}};
    if (has_away && policy.away_from_ms < close && policy.away_until_ms > open) {
      pieces[0] = {open, std::min(close, policy.away_from_ms)};
      pieces[1] = {std::max(open, policy.away_until_ms), close};
    }
    for (const auto& [from, until] : pieces) {
      if (until <= from) continue;
      if (until - from >= remaining_ms) return from + remaining_ms;
      remaining_ms -= until - from;
    }
  }
  return absl::InternalError(absl::StrCat("reply due time for start_ms ", start_ms,
                                          " is more than ", kMaxDaysScanned,
                                          " days away under time_zone ", policy.time_zone));
}

}  // namespace sotto::reply_due
