#ifndef SOTTO_COMMON_ISO_WEEKDAY_H_
#define SOTTO_COMMON_ISO_WEEKDAY_H_

#include "absl/time/civil_time.h"

namespace sotto {

// ISO 8601 number of a weekday: Monday = 1 … Sunday = 7 — the numbering of
// ResponsePolicy.working_days on the wire, shared by the server's due-time
// computation and the CLI's parsing.
inline int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 1;
}

}  // namespace sotto

#endif  // SOTTO_COMMON_ISO_WEEKDAY_H_
