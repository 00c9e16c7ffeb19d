#ifndef SOTTO_SERVER_DOMAIN_USER_LIST_H_
#define SOTTO_SERVER_DOMAIN_USER_LIST_H_

// The operator's list of accounts (`sotto-server users`): who is registered,
// in which role, whether deactivated, with which devices. Nothing else: no
// keys, no secrets' hashes, no care links, nothing about messages.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct UserSummary {
  std::string handle;
  Role role = Role::kUnspecified;
  bool deactivated = false;
  std::vector<uint32_t> device_ids;  // ascending
  // Start of the hour (Unix ms) of the last authenticated call the running
  // server saw; 0: none since it started, or no server (last_seen.h).
  int64_t last_seen_hour_ms = 0;
};

// Up to `limit` accounts in handle order, after `after_handle` (empty: from
// the first). Errors: storage errors; DATA_LOSS for a record that does not
// decode. Does not own `store`.
absl::StatusOr<std::vector<UserSummary>> ListUsers(Store* store, absl::string_view after_handle,
                                                   size_t limit);

// "therapist", "client" or "unspecified".
absl::string_view RoleName(Role role);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_USER_LIST_H_
