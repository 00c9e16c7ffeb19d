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

DurabilityStats GroupCommitStore::durability_stats() const {
  const LogSyncer::SyncTimes times = syncer_->sync_times();
  DurabilityStats stats;
  stats.syncs = syncer_->syncs();
  stats.synced_calls = syncer_->calls();
  stats.sync_total_micros = times.total_micros;
  stats.sync_max_micros = times.max_micros;
  stats.syncs_over_10ms = times.over_10ms;
  stats.syncs_over_100ms = times.over_100ms;
  return stats;
}

}  // namespace sotto::server
