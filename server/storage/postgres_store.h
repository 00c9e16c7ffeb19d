#ifndef SOTTO_SERVER_STORAGE_POSTGRES_STORE_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_STORE_H_

// The Store contract on PostgreSQL 15 (issue 17), for a platform that
// outgrows one machine's RocksDB and cannot let one disk be the single
// point of failure for every queued message (docs/DEPLOYING.md).
//
// Layout: one table per Table, `sotto_<TableName>` (k bytea PRIMARY KEY,
// v bytea NOT NULL). bytea compares bytewise (memcmp, then length), the
// order RocksDB's default comparator gives, so Scan's order and ranges are
// the same on both. Every statement is keyed by a key or a key range (no
// sequence, no table-wide statement on a hot path), so the schema stays
// portable to distributed PostgreSQL-wire engines.
//   Write     one transaction (BEGIN, a statement per op in order, COMMIT);
//             a one-op batch autocommits.
//   Durability kBuffered: synchronous_commit = off for that commit (visible
//             at once, on disk within 3 x wal_writer_delay); kSynced: the
//             database's own synchronous_commit (on, or remote_apply with
//             synchronous standbys), which the open checks is not off.
//   SyncLog   one synchronous commit of this store's row in sotto_sync: its
//             WAL flush (and, with synchronous standbys, their
//             acknowledgement) covers every commit before it, buffered ones
//             included, since the WAL is one sequence. Group commit
//             (LogSyncer) then works as on RocksDB.
//   PopFirst  DELETE of the first key under the prefix, chosen by
//             SELECT ... FOR UPDATE SKIP LOCKED: concurrent pops, on this
//             node or another, never get the same row.
// The schema version (schema_version.h) lives in sotto_meta.
//
// Errors met while serving a request reach the client as a code and a
// sentence (no host names or SQL); the detail goes to the server's log.

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/store.h"

namespace sotto::server {

struct PostgresStoreOptions {
  // Connections kept open at most (each request holds one for the
  // duration of its statement or transaction; more wait for one).
  // `sotto-server --store-pool-size`.
  size_t max_connections = 16;
};

// True when `store` names a PostgreSQL database (postgres:// or
// postgresql://), the form `sotto-server --store` takes.
bool IsPostgresUrl(absl::string_view store);

// `url` with any password replaced by "***", for messages and logs.
std::string RedactPostgresUrl(absl::string_view url);

// Connects to the database at `url` (a libpq URL), creates the tables that
// are missing and checks the schema version and synchronous_commit.
// Errors, each naming the URL without its password: UNAVAILABLE when the
// database cannot be reached, FAILED_PRECONDITION for a schema version this
// build cannot serve or a database whose synchronous_commit is off,
// INTERNAL for other refusals (permissions). The store is thread-safe.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                         const PostgresStoreOptions& options = {});

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_STORE_H_
