#ifndef SOTTO_SERVER_STORAGE_CACHING_STORE_H_
#define SOTTO_SERVER_STORAGE_CACHING_STORE_H_

#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/store.h"

namespace sotto::server {

// Keeps the results of Get and Scan on a few tables in memory: those read
// on every Send but written only by rare events (accounts, devices, care
// links, response policies). Every write goes through this Store, so a
// write to a cached table drops that table's cached results before Write
// returns: a read that begins after a write returned sees it, exactly as
// without the cache. A read racing a write never stores what it read (each
// table has a generation that every write bumps). Reads that found nothing
// (a Get miss, an empty Scan) are kept apart from those that found
// something, each with its own cap: anyone can cause misses (an unknown
// handle in a failed sign-in), and a flood of them must not push out the
// records every Send reads. Thread-safe.
class CachingStore final : public Store {
 public:
  // Caches `tables`, at most `max_entries` found and `max_entries` empty
  // results of each kind (Get, Scan) per table; past a cap, those results
  // are dropped and fill again.
  CachingStore(std::unique_ptr<Store> inner, const std::vector<Table>& tables,
               size_t max_entries = 100000);

  absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) override;
  absl::Status Write(const WriteBatch& batch, Durability durability) override;
  absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                             absl::string_view start_after, size_t limit) override;
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override;
  absl::Status SyncLog() override { return inner_->SyncLog(); }
  absl::Status Checkpoint(const std::string& dir) override { return inner_->Checkpoint(dir); }

 private:
  struct TableCache {
    absl::Mutex mu;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<std::string, std::string> gets ABSL_GUARDED_BY(mu);
    absl::flat_hash_set<std::string> missing ABSL_GUARDED_BY(mu);  // Gets that found none
    absl::flat_hash_map<std::string, std::vector<KeyValue>> scans ABSL_GUARDED_BY(mu);
    absl::flat_hash_set<std::string> empty_scans ABSL_GUARDED_BY(mu);
  };

  // Null for a table that is not cached.
  TableCache* CacheOf(Table table);
  static void Invalidate(TableCache& cache);

  const std::unique_ptr<Store> inner_;
  const size_t max_entries_;
  std::array<std::unique_ptr<TableCache>, std::size(kAllTables)> caches_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_CACHING_STORE_H_
