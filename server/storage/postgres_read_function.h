#ifndef SOTTO_SERVER_STORAGE_POSTGRES_READ_FUNCTION_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_READ_FUNCTION_H_

// A PostgresStore batched read (Store::Read) in one round trip (internal to
// server/storage).
//
// A Send read its rows one statement at a time: about ten round trips, each
// a context switch and a send/poll/recv on this side and a statement's
// overhead on the database's (docs/BENCHMARKS.md, "PostgreSQL store"). Now
// the reads a step needs go together to one call of a PL/pgSQL function,
// `sotto_read_N`, which returns one row per entry found: (kind, index, key,
// value), kind 0 for a Get (key NULL) and 1 for a Scan, index the read's
// position among those of its kind. Declared STABLE, so all of its
// statements see the calling statement's snapshot. Its statements are
// static (one branch per table, as the write function's: PerTable) and each
// is keyed by one key or one key range, so the layout stays portable to
// PostgreSQL-wire engines that run PL/pgSQL.
//
// N is the version of the body: a change makes a new name, so nodes of two
// builds on one database each call their own (postgres_write_function.h).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/storage/store.h"

namespace sotto::server::pg {

inline constexpr char kReadFunction[] = "sotto_read_2";

// CREATE FUNCTION for kReadFunction, run only when it is missing.
std::string CreateReadFunctionSql();

// The call: "SELECT kind, idx, key, val FROM sotto_read_2($1::text[], ...)"
// with parameters TableArray(get tables), ByteaArray(get keys),
// TableArray(scan tables), ByteaArray(scan prefixes), ByteaArray(each
// prefix's end, NULL for none), BigintArray(scan limits).
std::string ReadCallSql();

// A PostgreSQL array literal of integers.
std::string BigintArray(const std::vector<int64_t>& values);

}  // namespace sotto::server::pg

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_READ_FUNCTION_H_
