#ifndef SOTTO_TESTS_FUZZ_MEMORY_STORE_H_
#define SOTTO_TESTS_FUZZ_MEMORY_STORE_H_

// An in-memory server::Store for fuzz targets: the domain services run their
// real validation and storage logic without RocksDB, so one iteration costs
// microseconds and leaves nothing on disk. Same contract as store.h
// (ordered keys, atomic batches, prefix scans, PopFirst). Thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/storage/store.h"

namespace sotto::fuzz {

class MemoryStore final : public server::Store {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::StatusOr<std::optional<std::string>> Get(server::Table table,
                                                 absl::string_view key) override {
    absl::MutexLock lock(&mu_);
    const auto& t = tables_[table];
    auto it = t.find(std::string(key));
    if (it == t.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  absl::Status Write(const server::WriteBatch& batch, server::Durability) override {
    absl::MutexLock lock(&mu_);
    for (const server::WriteBatch::Op& op : batch.ops()) {
      if (op.value.has_value()) {
        tables_[op.table][op.key] = *op.value;
      } else {
        tables_[op.table].erase(op.key);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<server::KeyValue>> Scan(server::Table table, absl::string_view prefix,
                                                     absl::string_view start_after,
                                                     size_t limit) override {
    absl::MutexLock lock(&mu_);
    const auto& t = tables_[table];
    std::vector<server::KeyValue> out;
    auto it = start_after.empty() ? t.lower_bound(std::string(prefix))
                                  : t.upper_bound(std::string(start_after));
    for (; it != t.end() && out.size() < limit; ++it) {
      if (it->first.compare(0, prefix.size(), prefix.data(), prefix.size()) != 0) {
        // Keys before the prefix (start_after below it) are skipped; keys
        // after it end the scan.
        if (it->first < std::string(prefix)) continue;
        break;
      }
      out.push_back(server::KeyValue{it->first, it->second});
    }
    return out;
  }

  absl::Status SyncLog() override { return absl::OkStatus(); }  // memory: nothing to sync

  absl::StatusOr<std::optional<server::KeyValue>> PopFirst(server::Table table,
                                                           absl::string_view prefix,
                                                           server::Durability) override {
    absl::MutexLock lock(&mu_);
    auto& t = tables_[table];
    auto it = t.lower_bound(std::string(prefix));
    if (it == t.end() || it->first.compare(0, prefix.size(), prefix.data(), prefix.size()) != 0) {
      return std::optional<server::KeyValue>();
    }
    server::KeyValue kv{it->first, it->second};
    t.erase(it);
    return std::optional<server::KeyValue>(std::move(kv));
  }

 private:
  // absl::Mutex, not std::mutex: clang's -Wthread-safety checks only the
  // annotated one (this tree is built with it).
  absl::Mutex mu_;
  std::map<server::Table, std::map<std::string, std::string>> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::fuzz

#endif  // SOTTO_TESTS_FUZZ_MEMORY_STORE_H_
