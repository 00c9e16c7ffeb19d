#ifndef SOTTO_SERVER_STORAGE_GROUP_COMMIT_STORE_H_
#define SOTTO_SERVER_STORAGE_GROUP_COMMIT_STORE_H_

#include "server/storage/log_syncer.h"
#include "server/storage/store.h"

namespace sotto::server {

// Makes every kSynced write a group-commit member: the write goes to
// `inner` unsynced and then waits for the log syncer's next sync. The
// caller still returns only once its write is on disk (Store's contract),
// but only the syncer ever fsyncs, outside RocksDB's write group, so no
// other writer (a Send on gRPC's thread) queues behind a synced write's
// fsync, and a burst of rare synced writes (registrations, key uploads,
// care links) shares fsyncs with the Sends around it. kBuffered writes and
// reads pass through; WhenDurable is the syncer's AfterSync. Does not own
// `inner` or `syncer`; `syncer` must sync
// `inner`'s log (or the log under it). Thread-safe.
//
// A synced write is visible to readers before it is durable (as every
// buffered write is), and stays visible if its sync fails: a read-only
// reply (a Fetch, a refused duplicate) may report state that a machine
// crash then removes. Whatever a caller is told was *stored* waits for the
// sync; a failed sync is final until restart (LogSyncer), and the restart
// recovers what is really on disk.
class GroupCommitStore final : public ForwardingStore {
 public:
  GroupCommitStore(Store* inner, LogSyncer* syncer) : ForwardingStore(inner), syncer_(syncer) {}

  absl::Status Write(const WriteBatch& batch, Durability durability) override;
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override;
  absl::Status SyncLog() override { return syncer_->WaitForSync(); }
  // The syncer's next sync answers it (LogSyncer::AfterSync).
  void WhenDurable(std::function<void(absl::Status)> done) override {
    syncer_->AfterSync(std::move(done));
  }
  bool Backlogged() const override { return syncer_->Busy(); }
  DurabilityStats durability_stats() const override;

 private:
  LogSyncer* const syncer_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_GROUP_COMMIT_STORE_H_
