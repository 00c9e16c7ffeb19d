#include "client-lib/storage/pending_writes.h"

#include "client-lib/storage/wipe.h"

namespace sotto::client::storage {

void PendingWrites::Put(std::string full_key, std::optional<std::string> value) {
  auto [it, added] = writes_.try_emplace(std::move(full_key));
  if (!added && it->second.has_value()) Wipe(*it->second);
  it->second = std::move(value);
}

const std::optional<std::string>* PendingWrites::Find(absl::string_view full_key) const {
  auto it = writes_.find(full_key);
  return it == writes_.end() ? nullptr : &it->second;
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
  writes_.clear();
}

}  // namespace sotto::client::storage
