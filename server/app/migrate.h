#ifndef SOTTO_SERVER_APP_MIGRATE_H_
#define SOTTO_SERVER_APP_MIGRATE_H_

// `sotto-server migrate --from DIR --to postgres://...`: a practice that
// outgrows one machine moves its RocksDB data into PostgreSQL, queued
// messages included (issue 17).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/store.h"

namespace sotto::server {

// What one table holds on both sides once copied.
struct MigratedTable {
  Table table;
  uint64_t rows = 0;
  // SHA-256 over every (key, value) in key order, each length-prefixed:
  // equal on both sides, or the migration fails.
  std::string sha256_hex;
};

struct MigrationReport {
  std::vector<MigratedTable> tables;  // in kAllTables order
  uint64_t rows = 0;
  // The audit chain read back from the target and verified with the key.
  uint64_t audit_entries = 0;
  std::string audit_head;  // SEQ:HEX, as `sotto-server audit --head` prints
};

// Copies every table of the RocksDB database in `from_dir` into the empty
// PostgreSQL database at `to_url`, then reads the target back: per table,
// the row count and checksum must equal the source's, and the audit chain
// must verify with the key in `audit_key_file` (the server's own; missing:
// only a chain written before keys verifies). The server must be stopped
// (RocksDB's lock) and stay stopped until the nodes start on the target.
// Errors, naming what was wrong: FAILED_PRECONDITION when the source is
// locked by a running server or the target already holds data (naming the
// first such table; nothing is written then), NOT_FOUND for a missing
// source, DATA_LOSS when the target read back differs (naming the table),
// those of OpenPostgresStore for the target.
absl::StatusOr<MigrationReport> MigrateToPostgres(const std::string& from_dir,
                                                  const std::string& to_url,
                                                  const std::string& audit_key_file);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_MIGRATE_H_
