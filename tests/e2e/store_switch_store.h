#ifndef SOTTO_TESTS_E2E_STORE_SWITCH_STORE_H_
#define SOTTO_TESTS_E2E_STORE_SWITCH_STORE_H_

// For the end-to-end tests that play a breached server by reading or
// writing its store directly while it is stopped: the store the launcher
// gave it (testing/store_switch.h), RocksDB in its data directory or the
// PostgreSQL that ServerProcess started. Link sotto::server_storage.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/postgres_store.h"
#include "server/storage/rocksdb_store.h"
#include "server/storage/store.h"
#include "testing/server_process.h"

namespace sotto::testing {

// Opens the (stopped) server's store.
inline absl::StatusOr<std::unique_ptr<server::Store>> OpenServerStore(const ServerProcess& s) {
  if (s.postgres() != nullptr) return server::OpenPostgresStore(s.postgres()->url());
  return server::OpenRocksDbStore(s.data_dir());
}

// Where the server's store keeps its files, for a plaintext scan: the
// PostgreSQL cluster's data directory (tables and WAL), or the RocksDB one.
inline std::string ServerStoreFiles(const ServerProcess& s) {
  return s.postgres() != nullptr ? s.postgres()->data_dir() : s.data_dir();
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_E2E_STORE_SWITCH_STORE_H_
