#ifndef SOTTO_CLIENT_LIB_HISTORY_SCHEDULED_H_
#define SOTTO_CLIENT_LIB_HISTORY_SCHEDULED_H_

// The send-later messages of this device still waiting on the server
// (Client::ListScheduled), read from the local history. The caller holds the
// profile's lock.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "sotto/local_store.h"
#include "sotto/types.h"

namespace sotto::client::history {

// Outgoing messages whose state at `now_ms` is kScheduled (accepted for
// later delivery, release time still ahead), the soonest release first
// (ties: the order they were written). Reads every history record: a
// profile's scheduled messages are few, but not indexed.
absl::StatusOr<std::vector<Message>> ListScheduled(storage::LocalStore& store, int64_t now_ms);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_SCHEDULED_H_
