#include "server/storage/group_commit_store.h"

namespace sotto::server {

absl::Status GroupCommitStore::Write(const WriteBatch& batch, Durability durability) {
  absl::Status written = inner()->Write(batch, Durability::kBuffered);
  if (!written.ok() || durability == Durability::kBuffered) return written;
  return syncer_->WaitForSync();
}

absl::StatusOr<std::optional<KeyValue>> GroupCommitStore::PopFirst(Table table,
                                                                   absl::string_view prefix,
                                                                   Durability durability) {
  absl::StatusOr<std::optional<KeyValue>> popped =
      inner()->PopFirst(table, prefix, Durability::kBuffered);
  if (!popped.ok() || durability == Durability::kBuffered || !popped->has_value()) {
    return popped;
  }
  absl::Status synced = syncer_->WaitForSync();
  if (!synced.ok()) return synced;
  return popped;
}

}  // namespace sotto::server
