#include "server/app/store_stack.h"

#include <utility>
#include <vector>

#include "server/app/key_files.h"
#include "server/storage/caching_store.h"
#include "server/storage/rocksdb_store.h"

namespace sotto::server {

absl::StatusOr<std::unique_ptr<StoreStack>> StoreStack::Open(const StoreStackOptions& options) {
  absl::StatusOr<std::unique_ptr<Store>> rocks = OpenRocksDbStore(options.data_dir);
  if (!rocks.ok()) return rocks.status();
  auto stack = std::unique_ptr<StoreStack>(new StoreStack());
  stack->base_ = std::make_unique<CachingStore>(
      *std::move(rocks), std::vector<Table>{Table::kAccounts, Table::kDevices, Table::kLinks,
                                            Table::kLinksByClient, Table::kPolicies});
  if (options.wrap_store) stack->base_ = options.wrap_store(std::move(stack->base_));
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock::Get();
  // After RocksDB: its lock keeps a second server from racing us to create
  // the key file.
  const KeyFilePaths keys = ResolveKeyFilePaths(options.data_dir, {options.audit_key_file, ""});
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(stack->base_.get(), clock, AuditKeyFile(keys.audit_key));
  if (!audit.ok()) return audit.status();
  stack->audit_ = *std::move(audit);
  // Syncs the audit chain's log, which is RocksDB's.
  stack->syncer_ = std::make_unique<LogSyncer>(stack->audit_.get());
  stack->group_ = std::make_unique<GroupCommitStore>(stack->audit_.get(), stack->syncer_.get());
  return stack;
}

StoreStack::~StoreStack() {
  if (syncer_) StopSyncing();
}

}  // namespace sotto::server
