#include "server/notify/digest.h"

#include "absl/strings/str_cat.h"
#include "sotto/status_macros.h"

namespace sotto::server::notify {

std::string DigestLine(size_t waiting, int64_t oldest_due_ms, const std::string& time_zone,
                       absl::Time now) {
  absl::TimeZone tz = absl::UTCTimeZone();
  std::string tz_name = "UTC";
  if (absl::TimeZone loaded; absl::LoadTimeZone(time_zone, &loaded)) {
    tz = loaded;
    tz_name = time_zone;
  }
  const absl::Time due = absl::FromUnixMillis(oldest_due_ms);
  return absl::StrCat(waiting, waiting == 1 ? " person is" : " people are", " waiting; the oldest ",
                      due <= now ? "was" : "is", " due at ", absl::FormatTime("%H:%M", due, tz),
                      " on ", absl::FormatTime("%a %e %b", due, tz), " (", tz_name, ").");
}

absl::StatusOr<std::optional<std::string>> TherapistDigest(ConversationQueue* conversations,
                                                           Care* care,
                                                           const std::string& therapist) {
  const AuthenticatedDevice as_therapist{therapist, 0, Role::kTherapist};
  SOTTO_ASSIGN_OR_RETURN(QueueList list, conversations->List(as_therapist, false));
  size_t waiting = 0;
  int64_t oldest_due = 0;
  for (const Conversation& c : list.entries) {
    if (c.state != ConversationState::kWaiting) continue;
    // Oldest waiting first: the first entry's due time is the oldest's.
    if (waiting++ == 0) oldest_due = c.due_ms;
  }
  if (waiting == 0) return std::nullopt;
  SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, care->PolicyOf(therapist));
  return DigestLine(waiting, oldest_due, policy.time_zone, absl::FromUnixMillis(list.now_ms));
}

}  // namespace sotto::server::notify
