#include "client-lib/storage/blind_memo.h"

#include "client-lib/storage/wipe.h"

namespace sotto::client::storage {

BlindMemo::~BlindMemo() {
  absl::MutexLock lock(&mu_);
  for (Entry& entry : entries_) Wipe(entry.identifier);
}

std::optional<std::string> BlindMemo::Find(absl::string_view identifier) const {
  absl::MutexLock lock(&mu_);
  for (const Entry& entry : entries_) {
    if (!entry.blinded.empty() && entry.identifier == identifier) return entry.blinded;
  }
  return std::nullopt;
}

void BlindMemo::Remember(absl::string_view identifier, absl::string_view blinded) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[next_];
  Wipe(entry.identifier);
  entry.identifier.assign(identifier.data(), identifier.size());
  entry.blinded.assign(blinded.data(), blinded.size());
  next_ = (next_ + 1) % kEntries;
}

}  // namespace sotto::client::storage
