#include "client-lib/history/outbox.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "client-lib/content/codec.h"
#include "sotto/local_store.h"

namespace sotto::client::history {

std::string OutboxKey(absl::string_view blinded_peer, v1::content::Receipt::Type type) {
  std::string key(blinded_peer);
  key.push_back(static_cast<char>(type));
  return key;
}

std::string OutboxRowKey(absl::string_view group, absl::string_view blinded_id) {
  std::string key(group);
  key.append(blinded_id.data(), blinded_id.size());
  return key;
}

absl::string_view OutboxGroup(absl::string_view key) {
  // A blinded handle and the type byte.
  return key.substr(0, std::min(key.size(), storage::kBlindBytes + 1));
}

void AddPending(const std::vector<std::string>& ids, PendingReceipts& pending) {
  absl::flat_hash_set<std::string> seen(pending.message_ids().begin(), pending.message_ids().end());
  for (const std::string& id : ids) {
    if (seen.insert(id).second) pending.add_message_ids(id);
  }
}

std::vector<v1::content::Receipt> CutReceipts(const PendingReceipts& pending) {
  std::vector<v1::content::Receipt> out;
  for (int i = 0; i < pending.message_ids_size(); ++i) {
    if (i % content::kMaxReceiptIds == 0) {
      out.emplace_back();
      out.back().set_type(static_cast<v1::content::Receipt::Type>(pending.type()));
    }
    out.back().add_message_ids(pending.message_ids(i));
  }
  return out;
}

}  // namespace sotto::client::history
