#ifndef SOTTO_SERVER_STORAGE_POSTGRES_WRITE_FUNCTION_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_WRITE_FUNCTION_H_

// A PostgresStore write in one round trip (internal to server/storage).
//
// A batch used to be BEGIN, a statement per expectation and per op, and
// COMMIT: 7 round trips for a Send, each holding the queue meta's row lock
// a little longer, on a connection other Sends waited for. Now it is one
// call of a PL/pgSQL function, `sotto_write_N`, run as its own (implicit)
// transaction: it checks the expectations as PostgresStore's conditional
// write always did (sorted by table and key; a value by SELECT ... FOR
// UPDATE, an absence by an uncommitted placeholder row), applies the ops in
// order, and commits when the call returns. A failed expectation raises
// SQLSTATE kExpectationSqlState naming its index, which rolls all of it
// back. The function's statements are static (one branch per table), so
// PostgreSQL plans each once per connection, and each is keyed by one key:
// the layout stays portable to PostgreSQL-wire engines that run PL/pgSQL
// (YugabyteDB; CockroachDB 23.2 and later).
//
// N is the version of the functions' bodies: a change makes new names, so
// nodes of two builds on one database each call their own.

#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/storage/store.h"

namespace sotto::server::pg {

// The names the store calls.
inline constexpr char kWriteFunction[] = "sotto_write_2";
inline constexpr char kSyncFunction[] = "sotto_sync_1";
// kWriteFunction's body names every table (kAllTables), and a database
// keeps the body of the build that created it: a table added without a new
// name would be "no table" to every write. Adding one fails here until the
// version in both names and this count move on together.
// (The read function, postgres_read_function.h, names them all too.)
static_assert(std::size(kAllTables) == 23,
              "a new Table changes sotto_write's and sotto_read's bodies: bump the version in "
              "kWriteFunction's and kReadFunction's names too");
// Raised by kWriteFunction for a failed expectation; the message is
// "expectation I: found" or "expectation I: absent" (I from 0, in the order
// passed).
inline constexpr char kExpectationSqlState[] = "SOT01";

// "IF var = 'accounts' THEN <stmt on sotto_accounts> ELSIF ... END IF;":
// static SQL per table, planned once per connection, where EXECUTE would
// parse and plan every statement of every call. `stmt` names the table $T;
// an unknown table raises "sotto: no table".
std::string PerTable(absl::string_view var, absl::string_view stmt);

// CREATE FUNCTION statements for both functions, each run only when its
// function is missing (FunctionExists).
std::vector<std::string> CreateFunctionsSql();
// A query whose one row is true when `name`'s function exists.
std::string FunctionExistsSql(absl::string_view name);

// The call: "SELECT sotto_write_2($1::text[], ...)" with parameters
// ArrayOf(tables), ArrayOf(keys), ArrayOf(values) for the expectations, the
// same three for the ops, and "t"/"f" for synced (the database's own
// synchronous_commit for this commit; else the session's off).
std::string WriteCallSql();
// "SELECT sotto_sync_1($1::bytea)": one synchronous commit of this node's
// row in sotto_sync.
std::string SyncCallSql();

// PostgreSQL array literals of table names and of bytea values (hex;
// nullopt becomes NULL).
std::string TableArray(const std::vector<Table>& tables);
std::string ByteaArray(const std::vector<std::optional<std::string>>& values);

// The index and whether a value was found, from a kExpectationSqlState
// error's message; nullopt when it is not in that form.
struct FailedExpectation {
  size_t index = 0;
  bool found = false;
};
std::optional<FailedExpectation> ParseFailedExpectation(absl::string_view message);

}  // namespace sotto::server::pg

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_WRITE_FUNCTION_H_
