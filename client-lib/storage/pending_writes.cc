#include "client-lib/storage/pending_writes.h"

#include "client-lib/storage/wipe.h"

namespace sotto::client::storage {

void PendingWrites::Put(std::string full_key, std::optional<std::string> value) {
  if (auto known = by_key_.find(absl::string_view(full_key)); known != by_key_.end()) {
    std::optional<std::string>& held = known->second->second;
    if (held.has_value()) Wipe(*held);
    held = std::move(value);
    return;
  }
  auto it = writes_.emplace(std::move(full_key), std::move(value)).first;
  by_key_.emplace(absl::string_view(it->first), it);
}

const std::optional<std::string>* PendingWrites::Find(absl::string_view full_key) const {
  auto it = by_key_.find(full_key);
  return it == by_key_.end() ? nullptr : &it->second->second;
}

std::vector<std::pair<std::string, std::optional<std::string>>> PendingWrites::WithPrefix(
    absl::string_view prefix) const {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (auto it = writes_.lower_bound(prefix);
       it != writes_.end() && absl::string_view(it->first).substr(0, prefix.size()) == prefix;
       ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

void PendingWrites::Clear() {
  for (auto& [key, value] : writes_) {
    if (value.has_value()) Wipe(*value);
  }
  by_key_.clear();
  writes_.clear();
}

}  // namespace sotto::client::storage
