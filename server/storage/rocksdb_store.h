#ifndef SOTTO_SERVER_STORAGE_ROCKSDB_STORE_H_
#define SOTTO_SERVER_STORAGE_ROCKSDB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/store.h"

namespace sotto::server {

struct RocksDbStoreOptions {
  // Shared LRU block cache for all column families.
  size_t block_cache_bytes = 64 << 20;
  // Open without the lock and refuse writes (FAILED_PRECONDITION): for
  // reading the audit trail of a database a server may hold open. The
  // database must exist with every column family.
  bool read_only = false;
};

// Opens (creating if missing, with every column family of Table) the RocksDB
// database in directory `path`. Errors: FAILED_PRECONDITION when the
// directory cannot be created or the database is locked by another process,
// DATA_LOSS on corruption, UNAVAILABLE on other I/O errors; the message names
// the path. The returned store is thread-safe; destroying it closes the
// database cleanly (the caller must have stopped using it).
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& path,
                                                        const RocksDbStoreOptions& options = {});

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_ROCKSDB_STORE_H_
