#include "server/storage/caching_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::server {
namespace {

// A Scan's arguments as one unambiguous map key.
std::string ScanKey(absl::string_view prefix, absl::string_view start_after, size_t limit) {
  return absl::StrCat(prefix.size(), ":", prefix, start_after.size(), ":", start_after, ":", limit);
}

}  // namespace

CachingStore::CachingStore(std::unique_ptr<Store> inner, const std::vector<Table>& tables,
                           size_t max_entries)
    : inner_(std::move(inner)), max_entries_(max_entries) {
  for (Table t : tables) caches_.at(static_cast<size_t>(t)) = std::make_unique<TableCache>();
}

CachingStore::TableCache* CachingStore::CacheOf(Table table) {
  return caches_.at(static_cast<size_t>(table)).get();
}

void CachingStore::Invalidate(TableCache& cache) {
  absl::MutexLock lock(&cache.mu);
  ++cache.generation;
  cache.gets.clear();
  cache.missing.clear();
  cache.scans.clear();
  cache.empty_scans.clear();
}

absl::StatusOr<std::optional<std::string>> CachingStore::Get(Table table, absl::string_view key) {
  TableCache* cache = CacheOf(table);
  if (cache == nullptr) return inner_->Get(table, key);
  uint64_t generation;
  {
    absl::MutexLock lock(&cache->mu);
    auto it = cache->gets.find(key);
    if (it != cache->gets.end()) return std::optional<std::string>(it->second);
    if (cache->missing.contains(key)) return std::optional<std::string>();
    generation = cache->generation;
  }
  absl::StatusOr<std::optional<std::string>> value = inner_->Get(table, key);
  if (!value.ok()) return value;
  absl::MutexLock lock(&cache->mu);
  // A write since we looked may have changed what we read.
  if (cache->generation == generation) {
    if (value->has_value()) {
      if (cache->gets.size() >= max_entries_) cache->gets.clear();
      cache->gets.emplace(std::string(key), **value);
    } else {
      if (cache->missing.size() >= max_entries_) cache->missing.clear();
      cache->missing.emplace(key);
    }
  }
  return value;
}

absl::StatusOr<std::vector<KeyValue>> CachingStore::Scan(Table table, absl::string_view prefix,
                                                         absl::string_view start_after,
                                                         size_t limit) {
  TableCache* cache = CacheOf(table);
  if (cache == nullptr) return inner_->Scan(table, prefix, start_after, limit);
  std::string scan_key = ScanKey(prefix, start_after, limit);
  uint64_t generation;
  {
    absl::MutexLock lock(&cache->mu);
    auto it = cache->scans.find(scan_key);
    if (it != cache->scans.end()) return it->second;
    if (cache->empty_scans.contains(scan_key)) return std::vector<KeyValue>();
    generation = cache->generation;
  }
  absl::StatusOr<std::vector<KeyValue>> rows = inner_->Scan(table, prefix, start_after, limit);
  if (!rows.ok()) return rows;
  absl::MutexLock lock(&cache->mu);
  if (cache->generation == generation) {
    if (!rows->empty()) {
      if (cache->scans.size() >= max_entries_) cache->scans.clear();
      cache->scans.emplace(std::move(scan_key), *rows);
    } else {
      if (cache->empty_scans.size() >= max_entries_) cache->empty_scans.clear();
      cache->empty_scans.emplace(std::move(scan_key));
    }
  }
  return rows;
}

absl::Status CachingStore::Write(const WriteBatch& batch, Durability durability) {
  absl::Status status = inner_->Write(batch, durability);
  // Even after an error: whether a failed write left a trace is not ours
  // to guess.
  std::array<bool, std::size(kAllTables)> touched{};
  for (const WriteBatch::Op& op : batch.ops()) touched.at(static_cast<size_t>(op.table)) = true;
  for (size_t t = 0; t < touched.size(); ++t) {
    if (touched[t] && caches_[t] != nullptr) Invalidate(*caches_[t]);
  }
  return status;
}

absl::StatusOr<std::optional<KeyValue>> CachingStore::PopFirst(Table table,
                                                               absl::string_view prefix,
                                                               Durability durability) {
  absl::StatusOr<std::optional<KeyValue>> popped = inner_->PopFirst(table, prefix, durability);
  if (TableCache* cache = CacheOf(table)) Invalidate(*cache);
  return popped;
}

}  // namespace sotto::server
