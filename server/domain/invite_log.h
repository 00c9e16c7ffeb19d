#ifndef SOTTO_SERVER_DOMAIN_INVITE_LOG_H_
#define SOTTO_SERVER_DOMAIN_INVITE_LOG_H_

// What a therapist may see of the invites they made (Care.ListInvites,
// issue 18): when each was made, until when it works, whether and by whom it
// was used. Table kInviteLog, under the therapist's handle and the invite's
// id — the first 8 bytes of the code's peppered hash (its kInvites key), so
// the row names no code and the redemption, which knows that key, finds the
// row without another index. Only the therapist's own prefix is ever read
// for a listing.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/records.h"
#include "server/storage/store.h"

namespace sotto::server {

// How long a used or expired invite stays listed.
inline constexpr int64_t kInviteLogKeepMs = int64_t{30} * 24 * 3600 * 1000;

// One listed invite.
struct InviteLogEntry {
  std::string id;  // 16 lowercase hex
  records::InviteLog log;
};

// The invite id (16 hex) of the invite whose kInvites key is `code_key`.
std::string InviteIdOf(absl::string_view code_key);

// Adds the row for a new invite to `batch`.
void LogInviteCreated(absl::string_view therapist, absl::string_view code_key, int64_t created_ms,
                      int64_t expires_at_ms, WriteBatch& batch);

// Adds to `batch` the update marking the invite used by `client` at
// `now_ms`. An invite made before the log existed has no row: nothing then.
absl::Status LogInviteUsed(Store* store, absl::string_view therapist, absl::string_view code_key,
                           absl::string_view client, int64_t now_ms, WriteBatch& batch);

// `therapist`'s invites, newest first, at most `max_results`.
absl::StatusOr<std::vector<InviteLogEntry>> ListInviteLog(Store* store, absl::string_view therapist,
                                                          size_t max_results);

// Deletes the rows of invites used or expired more than kInviteLogKeepMs
// before `now_ms`; returns how many.
absl::StatusOr<size_t> SweepInviteLog(Store* store, int64_t now_ms);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_INVITE_LOG_H_
