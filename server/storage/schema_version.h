#ifndef SOTTO_SERVER_STORAGE_SCHEMA_VERSION_H_
#define SOTTO_SERVER_STORAGE_SCHEMA_VERSION_H_

// The version of the database's layout (its column families, key codecs
// and record encodings), stored in the database itself so that a binary
// knows what it opens (issue 20). OpenRocksDbStore writes it when it
// creates a database and checks it at every open:
//   - newer than kSchemaVersion: refused with FAILED_PRECONDITION naming
//     both versions (a downgrade; run the newer sotto-server, or restore a
//     backup taken before the upgrade), read-only opens too;
//   - absent: a database written before versioning (Sotto 0.x up to this
//     record), whose layout is version 1: it is adopted (the record
//     written; new column families are added on open as before);
//   - older: each migration from it up to kSchemaVersion runs in order at
//     open, before anything reads; one that is not known is refused.
// Bump kSchemaVersion with any change an older binary would misread, and
// add its migration to rocksdb_store.cc.

#include <cstdint>

namespace sotto::server {

inline constexpr uint64_t kSchemaVersion = 1;

// The record's key in RocksDB's default column family; its value is the
// version in decimal.
inline constexpr char kSchemaVersionKey[] = "sotto.schema_version";

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_SCHEMA_VERSION_H_
