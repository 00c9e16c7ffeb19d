#ifndef SOTTO_CLIENT_LIB_STORAGE_PENDING_WRITES_H_
#define SOTTO_CLIENT_LIB_STORAGE_PENDING_WRITES_H_

// The writes of a deferred span of the encrypted store
// (LocalStore::BeginDeferredSync), kept in memory in plaintext until the
// span ends and then written in one sealed RocksDB batch (issue 21).
//
// Why: a sync stores a page of up to 1,000 messages in one span, and each
// message rewrites the same few rows (the Signal session, the next local
// sequence number, the conversation's summary) besides adding its own. Done
// row by row, every rewrite was sealed, hashed for the manifest, inserted
// into the memtable (which grew a version per rewrite) and appended to the
// write-ahead log, and every read of it opened a sealed value again: perf
// put ~60% of a sync's CPU there. Kept here, a rewrite replaces a string
// and a read copies one; only the last value of each row is sealed, once.
//
// Values are wiped when replaced or cleared (they hold session state and
// message text). Not thread-safe: the store guards it with its write lock.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sotto::client::storage {

class PendingWrites {
 public:
  // Stored key (space byte + key) -> the value to write, or nullopt to delete.
  using Map = std::map<std::string, std::optional<std::string>, std::less<>>;

  PendingWrites() = default;
  ~PendingWrites() { Clear(); }
  PendingWrites(const PendingWrites&) = delete;
  PendingWrites& operator=(const PendingWrites&) = delete;

  // Records a write of `full_key`; a later one of the same key replaces it.
  void Put(std::string full_key, std::optional<std::string> value);

  // The pending write of `full_key` (nullopt inside: a deletion), or null
  // if none is pending.
  const std::optional<std::string>* Find(absl::string_view full_key) const;

  // The pending writes of keys that start with `prefix`, in key order.
  std::vector<std::pair<std::string, std::optional<std::string>>> WithPrefix(
      absl::string_view prefix) const;

  const Map& writes() const { return writes_; }
  bool empty() const { return writes_.empty(); }

  // Forgets every pending write, wiping the values.
  void Clear();

 private:
  Map writes_;
  // The same entries by key, for Find: a Sync page holds ~3,000 pending rows,
  // and every message looks up several of them (its session, the sequence,
  // the summary, its id in the index, which is absent): walking the tree
  // for each was ~3% of a Sync's CPU (issue 21). Keys are views of the
  // map's own keys, which never move.
  absl::flat_hash_map<absl::string_view, Map::iterator> by_key_;
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_PENDING_WRITES_H_
