#ifndef SOTTO_SERVER_APP_STORE_STACK_H_
#define SOTTO_SERVER_APP_STORE_STACK_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/storage/disk_space.h"
#include "server/storage/group_commit_store.h"
#include "server/storage/log_syncer.h"
#include "server/storage/postgres_store.h"
#include "server/storage/space_guard_store.h"
#include "server/storage/store.h"

namespace sotto::server {

struct StoreStackOptions {
  // RocksDB directory; created if missing. With a PostgreSQL `store`, it
  // still holds the key files and the operator socket.
  std::string data_dir;
  // The audit chain's MAC key file (key_files.h); empty: DATA_DIR.audit-key.
  std::string audit_key_file;
  // Stamps audit entries; nullptr means the system clock. Not owned.
  Clock* clock = nullptr;
  // Tests only: wraps the cached store (e.g. to observe or delay writes).
  // The result is what the stack uses; it must forward to the store given.
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store;
  // The free-space reserve (DiskSpaceOptions::min_free_bytes); 0: none.
  // The ballast is a quarter of it, at most 64 MiB.
  uint64_t min_free_bytes = 0;
  // Where the data lives: empty, RocksDB in data_dir; a postgres:// URL
  // (IsPostgresUrl), that database (postgres_store.h). The free-space
  // reserve then does not apply: the database's disk is not ours to watch.
  std::string store;
  // With a PostgreSQL `store`: PostgresStoreOptions::max_connections.
  size_t store_pool_size = PostgresStoreOptions().max_connections;
};

// The server's storage, assembled in one place (the composition root of
// everything under the domain services), bottom to top:
//   RocksDB (OpenRocksDbStore), or PostgreSQL (OpenPostgresStore)
//   -> CachingStore (RocksDB only): accounts, devices, care links and
//      policies, read by every Send and written only by rare events, served
//      from memory. Not on PostgreSQL, where other nodes write them too.
//   -> [wrap_store, tests only]
//   -> AuditLog: every write carrying audit events chains them in
//   -> GroupCommitStore over a LogSyncer: every synced write waits for the
//      syncer's next group sync; WhenDurable is answered by it.
//   -> SpaceGuardStore: below the free-space reserve, writes that add data
//      are refused before they reach anything else (DiskSpace watches).
// The domain services write through store(). Thread-safe as its parts.
class StoreStack {
 public:
  // Opens the database and starts the syncer. Errors: those of
  // OpenRocksDbStore (data dir unusable, database locked) or
  // OpenPostgresStore (unreachable, wrong schema version), and AuditLog::Open
  // (the key file missing while the chain is MAC'd, unreadable, or not the
  // chain's).
  static absl::StatusOr<std::unique_ptr<StoreStack>> Open(const StoreStackOptions& options);

  StoreStack(const StoreStack&) = delete;
  StoreStack& operator=(const StoreStack&) = delete;
  // StopSyncing, then closes the database.
  ~StoreStack();

  // What the domain services write through (the space guard over group
  // commit over the audit chain).
  Store* store() { return guard_.get(); }
  // The data directory's free space, as last measured.
  const DiskSpace& disk_space() const { return *space_; }
  // The audit chain, for events without a change of their own
  // (AuditLog::Record) and for reading the trail.
  AuditLog* audit() { return audit_.get(); }

  // Syncs and answers whatever waits for the disk, then stops the syncer
  // thread; later synced writes sync by themselves. Call after everything
  // that answers clients from WhenDurable has stopped. Idempotent.
  void StopSyncing() { syncer_->Stop(); }

 private:
  StoreStack() = default;

  // Declared bottom to top: destroyed top first, RocksDB last.
  std::unique_ptr<DiskSpace> space_;
  std::unique_ptr<Store> base_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<LogSyncer> syncer_;
  std::unique_ptr<GroupCommitStore> group_;
  std::unique_ptr<SpaceGuardStore> guard_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_STORE_STACK_H_
