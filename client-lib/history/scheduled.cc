#include "client-lib/history/scheduled.h"

#include <algorithm>
#include <utility>

#include "client-lib/history/delivery_state.h"
#include "client-lib/history/history_book.h"
#include "client-lib/storage/wipe.h"
#include "sotto/client/records.pb.h"
#include "sotto/status_macros.h"

namespace sotto::client::history {

absl::StatusOr<std::vector<Message>> ListScheduled(storage::LocalStore& store, int64_t now_ms) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                         store.Scan(storage::Space::kHistory, ""));
  std::vector<std::pair<uint64_t, Message>> found;
  for (storage::Entry& e : entries) {
    storage::ScopedWipe wipe(e.value);
    StoredMessage stored;
    if (!stored.ParseFromString(e.value)) {
      return absl::DataLossError("a message in the local history is corrupt");
    }
    if (!stored.outgoing()) continue;
    if (StoredState(stored.state()) != DeliveryState::kScheduled) continue;
    Message m = ToMessage(stored, now_ms);
    // Released by now: the server has delivered it (ReportedState says kSent).
    if (m.state != DeliveryState::kScheduled) continue;
    found.emplace_back(stored.local_seq(), std::move(m));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (a.second.server_time_ms != b.second.server_time_ms) {
      return a.second.server_time_ms < b.second.server_time_ms;
    }
    return a.first < b.first;
  });
  std::vector<Message> result;
  result.reserve(found.size());
  for (auto& [seq, m] : found) result.push_back(std::move(m));
  return result;
}

}  // namespace sotto::client::history
