#include "server/app/store_stack.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <utility>
#include <vector>

#include "server/app/key_files.h"
#include "server/storage/caching_store.h"
#include "server/storage/postgres_store.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/log.h"

namespace sotto::server {

namespace {

// Free bytes from the file named by kFakeFreeBytesEnv, if that is set (the
// binary's disk-full tests without a small file system); nullopt: statvfs.
std::function<absl::StatusOr<uint64_t>()> FakeFreeBytesFromEnv() {
  const char* file = std::getenv(kFakeFreeBytesEnv);
  if (file == nullptr || *file == '\0') return nullptr;
  log::Warn(absl::StrCat("note: free space is read from ", file, " (", kFakeFreeBytesEnv,
                         "; for tests)"));
  return [path = std::string(file)]() -> absl::StatusOr<uint64_t> {
    std::ifstream in(path);
    uint64_t bytes = 0;
    if (!(in >> bytes)) return absl::UnavailableError("no number in " + path);
    return bytes;
  };
}

// Set to "1", a PostgreSQL store is cached as RocksDB is: wrong with a
// second node (a revoked device would still work there). Only for the side
// by side measurement in docs/BENCHMARKS.md ("Several nodes").
constexpr char kBenchCacheEnv[] = "SOTTO_BENCH_ONLY_CACHE_ON_POSTGRES";

bool CacheOnPostgresForBench() {
  const char* v = std::getenv(kBenchCacheEnv);
  if (v == nullptr || std::string(v) != "1") return false;
  log::Warn(absl::StrCat("note: PostgreSQL store cached (", kBenchCacheEnv,
                         "; for benchmarks only, unsafe with several nodes)"));
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoreStack>> StoreStack::Open(const StoreStackOptions& options) {
  auto stack = std::unique_ptr<StoreStack>(new StoreStack());
  // Before RocksDB: on a full disk the ballast must be given back first, or
  // opening (a new MANIFEST, OPTIONS file and log) fails.
  DiskSpaceOptions space;
  space.dir = options.data_dir;
  const bool postgres = !options.store.empty();
  space.min_free_bytes = postgres ? 0 : options.min_free_bytes;
  space.ballast_bytes = std::min<uint64_t>(space.min_free_bytes / 4, uint64_t{64} << 20);
  space.free_bytes_source = FakeFreeBytesFromEnv();
  absl::StatusOr<std::unique_ptr<DiskSpace>> watched = DiskSpace::Start(std::move(space));
  if (!watched.ok()) return watched.status();
  stack->space_ = *std::move(watched);
  PostgresStoreOptions pg;
  pg.max_connections = options.store_pool_size;
  absl::StatusOr<std::unique_ptr<Store>> rocks =
      postgres ? OpenPostgresStore(options.store, pg) : OpenRocksDbStore(options.data_dir);
  if (!rocks.ok()) return rocks.status();
  stack->space_->CountUnflushed([db = rocks->get()] { return db->UnflushedBytes(); });
  if (postgres && !CacheOnPostgresForBench()) {
    // No cache: another node may revoke a device or end a link at any time,
    // and this node must refuse it at once (docs/DEPLOYING.md, "Several
    // nodes"). The reads it saved cost little on PostgreSQL (BENCHMARKS.md).
    stack->base_ = *std::move(rocks);
  } else {
    stack->base_ = std::make_unique<CachingStore>(
        *std::move(rocks), std::vector<Table>{Table::kAccounts, Table::kDevices, Table::kLinks,
                                              Table::kLinksByClient, Table::kPolicies});
  }
  if (options.wrap_store) stack->base_ = options.wrap_store(std::move(stack->base_));
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock::Get();
  // After RocksDB: its lock keeps a second server from racing us to create
  // the key file.
  const KeyFilePaths keys = ResolveKeyFilePaths(options.data_dir, {options.audit_key_file, "", ""});
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(stack->base_.get(), clock, AuditKeyFile(keys.audit_key));
  if (!audit.ok()) return audit.status();
  stack->audit_ = *std::move(audit);
  // Syncs the audit chain's log, which is the store's.
  // On PostgreSQL a failed sync is a lost connection, not lost pages: the
  // syncer tries again with the next batch (log_syncer.h).
  stack->syncer_ = std::make_unique<LogSyncer>(stack->audit_.get(), 65536,
                                               /*failures_final=*/!postgres);
  stack->group_ = std::make_unique<GroupCommitStore>(stack->audit_.get(), stack->syncer_.get());
  stack->guard_ = std::make_unique<SpaceGuardStore>(stack->group_.get(), stack->space_.get());
  return stack;
}

StoreStack::~StoreStack() {
  if (syncer_) StopSyncing();
  // The poller asks the store, which goes first (members die in reverse).
  if (space_) space_->CountUnflushed(nullptr);
}

}  // namespace sotto::server
