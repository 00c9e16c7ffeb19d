#ifndef SOTTO_SERVER_NOTIFY_DIGEST_H_
#define SOTTO_SERVER_NOTIFY_DIGEST_H_

// A therapist's digest mail: how many clients wait and when the oldest is
// due, from the queue index the server keeps anyway (conversation_queue.h).
// No handle, no content: the mail passes through the operator's relay and
// the therapist's mail provider.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/domain/care.h"
#include "server/domain/conversation_queue.h"

namespace sotto::server::notify {

// "3 people are waiting; the oldest is due at 17:00 on Tue 8 Dec
// (Europe/Berlin)." — "was due" once past, "1 person is waiting" for one.
// An unknown `time_zone` falls back to UTC.
std::string DigestLine(size_t waiting, int64_t oldest_due_ms, const std::string& time_zone,
                       absl::Time now);

// The digest line of `therapist`'s queue now, nullopt when nobody waits.
// Errors: those of ConversationQueue::List and Care::PolicyOf.
absl::StatusOr<std::optional<std::string>> TherapistDigest(ConversationQueue* conversations,
                                                           Care* care,
                                                           const std::string& therapist);

}  // namespace sotto::server::notify

#endif  // SOTTO_SERVER_NOTIFY_DIGEST_H_
