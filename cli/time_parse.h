#ifndef SOTTO_CLI_TIME_PARSE_H_
#define SOTTO_CLI_TIME_PARSE_H_

// What people type for times and durations on the `sotto` command line, and
// how the CLI prints them back. Pure functions of their arguments (the clock
// and the zone are parameters), so the tests pin them without a real clock.
//
// Errors are INVALID_ARGUMENT with the offending text quoted in the message;
// the caller prefixes the flag name (`--at "+2x": ...`).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sotto::cli {

// A duration: one or more of <n>d, <n>h, <n>m in that order, e.g. "2h",
// "90m", "1d", "1h30m". A day is `day` long (24 hours unless a caller counts
// working days). Must be longer than zero.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text,
                                             absl::Duration day = absl::Hours(24));

// A point in time, read in `zone` relative to `now`:
//   +2h, +30m, +1d, +1h30m   from now
//   HH:MM                    the next time the clock shows HH:MM
//   today HH:MM, tomorrow HH:MM
//   2026-12-01 09:00, 2026-12-01 (midnight)
//   RFC 3339, e.g. 2026-12-01T09:00:00Z or 2026-12-01T09:00:00-05:00
// Does not reject past times: whether that is an error depends on the flag.
absl::StatusOr<absl::Time> ParseWhen(absl::string_view text, absl::Time now, absl::TimeZone zone);

// "Tue 1 Dec 09:00" in `zone`; the year is added when it is not `now`'s.
std::string FormatWhen(absl::Time t, absl::TimeZone zone, absl::Time now);

// How long something waited, compactly: "<1m", "45m", "3h12m", "3h", "2d5h".
std::string FormatWaited(absl::Duration d);

// A reply window in business minutes, for a sentence: "8 business hours",
// "1 business hour", "45 business minutes", "7h30m of business hours".
std::string FormatBusinessMinutes(int minutes);

// Working days: "mon-fri", "mon,wed,fri", "mon-wed,fri", "sat-mon"; day names
// in any case, three letters or in full. Returns ISO weekdays (1 = Monday)
// ascending, without repeats.
absl::StatusOr<std::vector<int>> ParseWeekdays(absl::string_view text);

// ISO weekdays back to text, ranges collapsed: {1,2,3,4,5} -> "Mon-Fri",
// {1,3,5} -> "Mon, Wed, Fri".
std::string FormatWeekdays(const std::vector<int>& days);

// Working hours "09:00-17:00" (or "9-17") as minutes after midnight; the end
// may be 24:00 and must be after the start.
struct DayHours {
  int start_minute = 0;
  int end_minute = 0;
};
absl::StatusOr<DayHours> ParseDayHours(absl::string_view text);

// Minutes after midnight as "HH:MM".
std::string FormatMinuteOfDay(int minute);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_TIME_PARSE_H_
