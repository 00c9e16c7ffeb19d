#ifndef SOTTO_COMMON_REPLY_DUE_H_
#define SOTTO_COMMON_REPLY_DUE_H_

// A therapist's response policy and when a reply is due under it: the one
// implementation that the server (queue due times, the expectation a send
// returns) and the client library (sotto::PreviewDue, the policy editor's
// "a message sent now would be due ...") share, so the preview can never
// disagree with what the server then reports (issue 18).
//
// Pure functions of their arguments: no clock, no storage, thread-safe. Time
// zones are loaded from the system tzdata (/usr/share/zoneinfo) and cached by
// Abseil.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sotto::reply_due {

// The fields of proto sotto.v1.ResponsePolicy. The server calls this
// server::ResponsePolicy; the public sotto::ResponsePolicy (types.h) is
// converted to it field by field.
struct Policy {
  std::string time_zone;          // IANA, e.g. "America/New_York"
  std::vector<int> working_days;  // ISO 8601 weekdays 1=Mon..7=Sun
  int day_start_minute = 540;     // minutes after local midnight
  int day_end_minute = 1020;
  int reply_window_minutes = 480;  // business minutes, 1..43200
  int64_t away_from_ms = 0;        // [from, until) Unix ms; both 0 = none
  int64_t away_until_ms = 0;
  std::string away_note;  // ≤ 500 bytes
};

// OK if `policy` can be stored and used. Otherwise INVALID_ARGUMENT whose
// message starts with the offending field's name: time_zone (empty, not an
// IANA name, or not in the system tzdata; "localtime" is refused because it
// means the server's zone), working_days (none, outside 1..7, or repeated),
// day_start_minute / day_end_minute (outside 0..1440, or end <= start),
// reply_window_minutes (outside 1..43200), away_from_ms / away_until_ms (only
// one of them set, or until <= from), away_note (over 500 bytes).
absl::Status ValidatePolicy(const Policy& policy);

// ValidatePolicy without loading the zone from tzdata (its name is checked
// for form only): for decoding a stored policy whose zone may since have
// left tzdata.
absl::Status ValidatePolicyFields(const Policy& policy);

// The Unix-ms moment at which `policy.reply_window_minutes` business minutes
// have elapsed after `start_ms`.
//
// A business minute is real elapsed time whose local wall-clock time in
// `policy.time_zone` falls on a working day within
// [day_start_minute, day_end_minute), outside [away_from_ms, away_until_ms).
// A message that arrives outside business time starts counting at the next
// business moment; the result may be exactly the end of a working window.
// Windows are found by civil-time conversion in the zone, so on a DST day the
// local 09:00 and 17:00 stay put and the day counts the minutes that really
// pass between them (a local time skipped by spring-forward is taken as the
// moment of the jump; a repeated local time opens the window at its first
// occurrence and closes it at its second).
//
// Errors: INVALID_ARGUMENT if ValidatePolicy fails or start_ms is negative or
// beyond year 9999; INTERNAL if the due moment lies more than five years of
// calendar days after start_ms (a pathological policy or away period), rather
// than looping without bound.
absl::StatusOr<int64_t> ReplyDueMs(const Policy& policy, int64_t start_ms);

}  // namespace sotto::reply_due

#endif  // SOTTO_COMMON_REPLY_DUE_H_
