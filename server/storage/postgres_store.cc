#include "server/storage/postgres_store.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "server/storage/postgres_pool.h"
#include "server/storage/postgres_read_function.h"
#include "server/storage/postgres_write_function.h"
#include "server/storage/schema_version.h"
#include "server/storage/space_guard_store.h"
#include "server/storage/error_log.h"
#include "sotto/log.h"

namespace sotto::server {

bool IsPostgresUrl(absl::string_view store) {
  return absl::StartsWith(store, "postgres://") || absl::StartsWith(store, "postgresql://");
}

std::string RedactPostgresUrl(absl::string_view url) {
  // scheme://user:password@host...: the password is between the first ':'
  // after the scheme and the '@' that ends the user part.
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::string(url);
  const size_t user_start = scheme_end + 3;
  const size_t at = url.find('@', user_start);
  const size_t slash = url.find('/', user_start);
  std::string out(url);
  if (at != absl::string_view::npos && (slash == absl::string_view::npos || at < slash)) {
    const size_t colon = url.find(':', user_start);
    if (colon != absl::string_view::npos && colon < at) {
      out = absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
    }
  }
  // A password may also come as a parameter (?password=...).
  const size_t param = out.find("password=");
  if (param != std::string::npos) {
    const size_t end = out.find('&', param);
    out = absl::StrCat(out.substr(0, param), "password=***",
                       end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

namespace {

// The SQL table of `table`.
std::string SqlTable(Table table) { return absl::StrCat("sotto_", TableName(table)); }

// The least key greater than every key starting with `prefix`, nullopt when
// there is none (empty, or all 0xff): the exclusive upper end of a prefix
// range, as an index can use it.
std::optional<std::string> PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

pqxx::binarystring Bytes(absl::string_view s) { return pqxx::binarystring(s.data(), s.size()); }
std::string FromBytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

// The one place a pqxx exception becomes absl::Status, for a request: the
// detail (which may name hosts, tables and SQL) goes to the server's log,
// the first in full, then a count every 10 s while they go on; the client
// gets the code and a sentence. Marks the connection broken when it is.
absl::Status RequestError(const std::exception& e, PgConnection& c, absl::string_view what) {
  LogStorageError(what, e.what());
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    c.broken = true;
    return absl::UnavailableError(
        "the server lost its storage while storing this request, which may or may not have been "
        "stored; try again (a retried Send with the same message id is not stored twice)");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    c.broken = true;
    return absl::UnavailableError(
        "the server's storage failed, so this request was not stored; try again later");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // Serialization failure, deadlock; a unique violation is a concurrent
    // insert of the same key.
    if (absl::StartsWith(state, "40") || state == "23505") {
      return absl::AbortedError("the request met a concurrent one; try again");
    }
    if (state == "53100") return OutOfStorageError();  // disk full
    // Connection exceptions, insufficient resources, operator intervention
    // (shutdown, a standby refusing writes during failover).
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
        absl::StartsWith(state, "57") || state == "25006") {
      c.broken = c.broken || !c.conn->is_open();
      return absl::UnavailableError(
          "the server's storage failed, so this request was not stored; try again later");
    }
  }
  return absl::InternalError("the server's storage refused the request (logged on the server)");
}

// Every new connection: buffered commits by default (a synced one says so
// in its transaction, SyncCommit), and no NOTICE lines on stderr.
void SetUpConnection(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec("SET synchronous_commit TO off; SET client_min_messages TO warning");
}

// Makes the transaction's commit wait as the database's synchronous_commit
// says (on, or the standbys' acknowledgement) instead of the session's off.
void SyncCommit(pqxx::transaction_base& tx) { tx.exec("SET LOCAL synchronous_commit TO DEFAULT"); }

// Leases a connection into `name`, or returns UNAVAILABLE (logged, as every
// storage error: LogStorageError).
#define SOTTO_PG_LEASE(name)                                                                     \
  absl::StatusOr<PgPool::Lease> name##_or = pool_.Acquire();                                     \
  if (!name##_or.ok()) {                                                                         \
    LogStorageError(RedactPostgresUrl(url_), name##_or.status().message());                      \
    return absl::UnavailableError(                                                               \
        "the server cannot reach its storage, so this request was not served; try again later"); \
  }                                                                                              \
  PgPool::Lease& name = *name##_or

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string url, size_t max_connections, std::string node)
      : url_(std::move(url)),
        node_(std::move(node)),
        pool_(url_, max_connections, &SetUpConnection) {}
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  ~PostgresStore() override {
    // This store's sync row is of no use to anyone after it.
    absl::StatusOr<PgPool::Lease> c = pool_.Acquire();
    if (!c.ok()) return;
    try {
      pqxx::nontransaction tx(*(*c)->conn);
      tx.exec_params("DELETE FROM sotto_sync WHERE node = $1", Bytes(node_));
    } catch (const std::exception&) {
      // Ignored: a leftover row is a few bytes and harms nothing.
    }
  }

  // Reads are retried once on a fresh connection when the first one turns
  // out broken (the database restarted or failed over since it was last
  // used): a read changes nothing, so it is safe to repeat.
  absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) override {
    absl::StatusOr<std::optional<std::string>> got;
    for (int attempt = 0; attempt < 2; ++attempt) {
      got = GetOnce(table, key);
      if (got.status().code() != absl::StatusCode::kUnavailable) break;
    }
    return got;
  }

  // One call of the read function (postgres_read_function.h), retried
  // once on a fresh connection as Get is.
  absl::StatusOr<ReadResult> Read(const ReadBatch& batch) override {
    if (batch.empty()) return ReadResult{};
    absl::StatusOr<ReadResult> read;
    for (int attempt = 0; attempt < 2; ++attempt) {
      read = ReadOnce(batch);
      if (read.status().code() != absl::StatusCode::kUnavailable) break;
    }
    return read;
  }

  absl::Status Write(const WriteBatch& batch, Durability durability) override {
    if (!batch.audit_events().empty()) {
      return absl::InternalError("a write with audit events reached a store without an audit log");
    }
    if (batch.ops().empty() && batch.expectations().empty()) return absl::OkStatus();
    SOTTO_PG_LEASE(c);
    try {
      // A buffered one-op batch is one statement; anything else is one
      // call of the write function (postgres_write_function.h): one round
      // trip either way, and one transaction.
      if (batch.expectations().empty() && batch.ops().size() == 1 &&
          durability == Durability::kBuffered) {
        pqxx::nontransaction tx(*c->conn);
        Apply(tx, *c, batch.ops().front());
        return absl::OkStatus();
      }
      return CallWrite(batch, durability, *c);
    } catch (const std::exception& e) {
      return WriteError(e, *c);
    }
  }

  absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                             absl::string_view start_after, size_t limit) override {
    absl::StatusOr<std::vector<KeyValue>> scanned;
    for (int attempt = 0; attempt < 2; ++attempt) {
      scanned = ScanOnce(table, prefix, start_after, limit);
      if (scanned.status().code() != absl::StatusCode::kUnavailable) break;
    }
    return scanned;
  }

  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override {
    SOTTO_PG_LEASE(c);
    const std::optional<std::string> end = PrefixEnd(prefix);
    // SKIP LOCKED: a row another pop has locked (and will delete) is passed
    // over, and one deleted since this statement's snapshot is not found
    // when it is locked; each row goes to exactly one pop, on any node.
    const std::string pick =
        absl::StrCat("SELECT k FROM $T WHERE k >= $1", end ? " AND k < $2" : "",
                     " ORDER BY k LIMIT 1 FOR UPDATE SKIP LOCKED");
    const std::string sql = "DELETE FROM $T WHERE k = (" + pick + ") RETURNING k, v";
    try {
      pqxx::work tx(*c->conn);
      if (durability == Durability::kSynced) SyncCommit(tx);
      const pqxx::result r = end ? Exec(tx, *c, "pe", table, sql, Bytes(prefix), Bytes(*end))
                                 : Exec(tx, *c, "p", table, sql, Bytes(prefix));
      tx.commit();
      if (r.empty()) return std::nullopt;
      return KeyValue{FromBytes(r[0][0]), FromBytes(r[0][1])};
    } catch (const std::exception& e) {
      return RequestError(e, *c, absl::StrCat("pop from ", SqlTable(table)));
    }
  }

  absl::Status SyncLog() override {
    SOTTO_PG_LEASE(c);
    try {
      // A synchronous commit of a write: its WAL flush covers every commit
      // before it (a read-only transaction would flush nothing). The row is
      // this store's own, so nodes never contend for it. One round trip.
      pqxx::nontransaction tx(*c->conn);
      if (!c->prepared.contains("sync")) {
        c->conn->prepare("sync", pg::SyncCallSql());
        c->prepared.insert("sync");
      }
      tx.exec_prepared("sync", Bytes(node_));
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return RequestError(e, *c, "sync");
    }
  }

  // Creates what is missing and checks the version and synchronous_commit;
  // errors name the URL (without its password).
  absl::Status Prepare();

 private:
  absl::StatusOr<std::optional<std::string>> GetOnce(Table table, absl::string_view key) {
    SOTTO_PG_LEASE(c);
    try {
      pqxx::nontransaction tx(*c->conn);
      const pqxx::result r = Exec(tx, *c, "g", table, "SELECT v FROM $T WHERE k = $1", Bytes(key));
      if (r.empty()) return std::nullopt;
      return FromBytes(r[0][0]);
    } catch (const std::exception& e) {
      return RequestError(e, *c, absl::StrCat("get from ", SqlTable(table)));
    }
  }

  absl::StatusOr<ReadResult> ReadOnce(const ReadBatch& batch) {
    std::vector<Table> get_tables, scan_tables;
    std::vector<std::optional<std::string>> get_keys, prefixes, ends;
    std::vector<int64_t> limits;
    for (const ReadBatch::GetOp& g : batch.gets()) {
      get_tables.push_back(g.table);
      get_keys.push_back(g.key);
    }
    for (const ReadBatch::ScanOp& op : batch.scans()) {
      scan_tables.push_back(op.table);
      prefixes.push_back(op.prefix);
      ends.push_back(PrefixEnd(op.prefix));
      limits.push_back(static_cast<int64_t>(std::min<size_t>(op.limit, INT64_MAX)));
    }
    SOTTO_PG_LEASE(c);
    try {
      if (!c->prepared.contains("read")) {
        c->conn->prepare("read", pg::ReadCallSql());
        c->prepared.insert("read");
      }
      pqxx::nontransaction tx(*c->conn);
      const pqxx::result r =
          tx.exec_prepared("read", pg::TableArray(get_tables), pg::ByteaArray(get_keys),
                           pg::TableArray(scan_tables), pg::ByteaArray(prefixes),
                           pg::ByteaArray(ends), pg::BigintArray(limits));
      ReadResult out;
      out.values.resize(get_keys.size());
      out.scans.resize(prefixes.size());
      // A scan's rows come in its key order, scans in the batch's order.
      for (const pqxx::row& row : r) {
        const size_t index = row[1].as<size_t>();
        if (row[0].as<int>() == 0 && index < out.values.size()) {
          out.values[index] = FromBytes(row[3]);
        } else if (row[0].as<int>() == 1 && index < out.scans.size()) {
          out.scans[index].push_back(KeyValue{FromBytes(row[2]), FromBytes(row[3])});
        } else {
          return absl::InternalError("the storage answered a read that was not asked");
        }
      }
      return out;
    } catch (const std::exception& e) {
      return RequestError(e, *c, "batched read");
    }
  }

  absl::StatusOr<std::vector<KeyValue>> ScanOnce(Table table, absl::string_view prefix,
                                                 absl::string_view start_after, size_t limit) {
    std::vector<KeyValue> out;
    if (limit == 0) return out;
    SOTTO_PG_LEASE(c);
    const std::optional<std::string> end = PrefixEnd(prefix);
    const std::string limit_text = std::to_string(std::min<size_t>(limit, INT64_MAX));
    try {
      // One statement: one snapshot, as the contract asks.
      pqxx::nontransaction tx(*c->conn);
      pqxx::result r;
      const std::string select = "SELECT k, v FROM $T WHERE k >= $1";
      const std::string order = " ORDER BY k LIMIT $2::bigint";
      if (end && !start_after.empty()) {
        r = Exec(tx, *c, "sea", table, select + " AND k < $3 AND k > $4" + order, Bytes(prefix),
                 limit_text, Bytes(*end), Bytes(start_after));
      } else if (end) {
        r = Exec(tx, *c, "se", table, select + " AND k < $3" + order, Bytes(prefix), limit_text,
                 Bytes(*end));
      } else if (!start_after.empty()) {
        r = Exec(tx, *c, "sa", table, select + " AND k > $3" + order, Bytes(prefix), limit_text,
                 Bytes(start_after));
      } else {
        r = Exec(tx, *c, "s", table, select + order, Bytes(prefix), limit_text);
      }
      out.reserve(r.size());
      for (const pqxx::row& row : r) out.push_back(KeyValue{FromBytes(row[0]), FromBytes(row[1])});
      return out;
    } catch (const std::exception& e) {
      return RequestError(e, *c, absl::StrCat("scan of ", SqlTable(table)));
    }
  }

  // Runs statement `kind` of `table` (`sql` with $T for the table),
  // preparing it on this connection the first time.
  template <typename... Args>
  static pqxx::result Exec(pqxx::transaction_base& tx, PgConnection& c, absl::string_view kind,
                           Table table, const std::string& sql, Args&&... args) {
    const std::string name = absl::StrCat(kind, static_cast<int>(table));
    if (!c.prepared.contains(name)) {
      std::string text = sql;
      for (size_t at = text.find("$T"); at != std::string::npos; at = text.find("$T", at)) {
        text.replace(at, 2, SqlTable(table));
      }
      c.conn->prepare(name, text);
      c.prepared.insert(name);
    }
    return tx.exec_prepared(name, std::forward<Args>(args)...);
  }

  // A batch with expectations (or several ops, or synced) as one call of
  // the write function, in one READ COMMITTED transaction that locks what
  // it checks, expected keys in (table, key) order so that two such
  // batches never wait for each other in a cycle:
  //   a value expected: SELECT ... FOR UPDATE locks the row (waiting for a
  //     writer that holds it, then reading the value it committed) and
  //     compares;
  //   absence expected: INSERT of a placeholder ... ON CONFLICT DO NOTHING.
  //     A committed row, or one another transaction inserted and commits,
  //     is a conflict (the insert waits for that transaction to end); else
  //     the placeholder holds the key for this transaction, and is deleted
  //     (an op added here) unless an op of the batch writes that key. Never
  //     visible to anyone else: it is uncommitted until it is gone or
  //     overwritten.
  // Why not SERIALIZABLE: its predicate locks on absent keys are taken per
  // index page, so Sends to unrelated queues whose idempotency keys share a
  // page would abort each other; and it guards only against other
  // SERIALIZABLE transactions. Row locks are exact.
  absl::Status CallWrite(const WriteBatch& batch, Durability durability, PgConnection& c) {
    std::vector<const WriteBatch::Expectation*> order;
    for (const WriteBatch::Expectation& e : batch.expectations()) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
      return std::tie(a->table, a->key) < std::tie(b->table, b->key);
    });
    std::vector<const WriteBatch::Expectation*> checked;
    std::vector<Table> x_tables, o_tables;
    std::vector<std::optional<std::string>> x_keys, x_values, o_keys, o_values;
    for (const WriteBatch::Expectation* e : order) {
      // The same key expected twice is checked once (a second placeholder
      // would conflict with the first); two different expectations of one
      // key cannot both hold.
      if (!checked.empty() && checked.back()->table == e->table && checked.back()->key == e->key) {
        if (checked.back()->value != e->value) return ExpectationFailed(e->table, e->key, true);
        continue;
      }
      checked.push_back(e);
      x_tables.push_back(e->table);
      x_keys.push_back(e->key);
      x_values.push_back(e->value);
    }
    for (const WriteBatch::Op& op : batch.ops()) {
      o_tables.push_back(op.table);
      o_keys.push_back(op.key);
      o_values.push_back(op.value);
    }
    for (const WriteBatch::Expectation* e : checked) {
      if (e->value) continue;
      const bool written = std::any_of(
          batch.ops().begin(), batch.ops().end(),
          [&](const WriteBatch::Op& op) { return op.table == e->table && op.key == e->key; });
      if (written) continue;
      o_tables.push_back(e->table);  // the placeholder's delete
      o_keys.push_back(e->key);
      o_values.push_back(std::nullopt);
    }
    if (!c.prepared.contains("write")) {
      c.conn->prepare("write", pg::WriteCallSql());
      c.prepared.insert("write");
    }
    try {
      pqxx::nontransaction tx(*c.conn);
      tx.exec_prepared("write", pg::TableArray(x_tables), pg::ByteaArray(x_keys),
                       pg::ByteaArray(x_values), pg::TableArray(o_tables), pg::ByteaArray(o_keys),
                       pg::ByteaArray(o_values),
                       std::string(durability == Durability::kSynced ? "t" : "f"));
      return absl::OkStatus();
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != pg::kExpectationSqlState) throw;
      const std::optional<pg::FailedExpectation> failed = pg::ParseFailedExpectation(e.what());
      if (!failed || failed->index >= checked.size()) throw;
      const WriteBatch::Expectation& x = *checked[failed->index];
      return ExpectationFailed(x.table, x.key, failed->found);
    }
  }

  // RequestError for a write: a connection lost during the one statement
  // of a write leaves it in doubt (it may have committed), as a lost
  // COMMIT does.
  absl::Status WriteError(const std::exception& e, PgConnection& c) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
      const pqxx::in_doubt_error doubt(e.what());
      return RequestError(doubt, c, "write batch");
    }
    return RequestError(e, c, "write batch");
  }

  static void Apply(pqxx::transaction_base& tx, PgConnection& c, const WriteBatch::Op& op) {
    if (op.value) {
      Exec(tx, c, "u", op.table,
           "INSERT INTO $T (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
           Bytes(op.key), Bytes(*op.value));
    } else {
      Exec(tx, c, "d", op.table, "DELETE FROM $T WHERE k = $1", Bytes(op.key));
    }
  }

  const std::string url_;
  const std::string node_;  // this store's row in sotto_sync
  PgPool pool_;
};

absl::Status PostgresStore::Prepare() {
  const std::string where = RedactPostgresUrl(url_);
  absl::StatusOr<PgPool::Lease> c = pool_.Acquire();
  if (!c.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the database at ", where, ": ", c.status().message()));
  }
  try {
    pqxx::work tx(*(*c)->conn);
    // RESET: the database's (or role's) value, not the session's off.
    tx.exec("RESET synchronous_commit");
    const std::string commit_mode = tx.exec("SHOW synchronous_commit")[0][0].c_str();
    if (commit_mode == "off") {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database at ", where,
          " has synchronous_commit = off, so a message acknowledged "
          "as stored could be lost in a crash; set it to on (or remote_apply with standbys)"));
    }
    // Nodes starting together create the tables one at a time.
    tx.exec("SELECT pg_advisory_xact_lock(17017017)");
    tx.exec("CREATE TABLE IF NOT EXISTS sotto_meta (k text PRIMARY KEY, v text NOT NULL)");
    tx.exec("CREATE TABLE IF NOT EXISTS sotto_sync (node bytea PRIMARY KEY, n bigint NOT NULL)");
    for (Table t : kAllTables) {
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", SqlTable(t),
                           " (k bytea PRIMARY KEY, v bytea NOT NULL)"));
    }
    // Created once per body version (their names carry it), not replaced:
    // a node of another build keeps the functions it calls.
    std::vector<std::string> functions = pg::CreateFunctionsSql();
    functions.push_back(pg::CreateReadFunctionSql());
    const char* const names[] = {pg::kWriteFunction, pg::kSyncFunction, pg::kReadFunction};
    for (size_t i = 0; i < functions.size(); ++i) {
      if (!tx.exec(pg::FunctionExistsSql(names[i]))[0][0].as<bool>()) tx.exec(functions[i]);
    }
    const pqxx::result version =
        tx.exec_params("SELECT v FROM sotto_meta WHERE k = $1", std::string(kSchemaVersionKey));
    if (version.empty()) {
      tx.exec_params("INSERT INTO sotto_meta (k, v) VALUES ($1, $2)",
                     std::string(kSchemaVersionKey), std::to_string(kSchemaVersion));
    } else {
      uint64_t stored = 0;
      const std::string text = version[0][0].c_str();
      if (!absl::SimpleAtoi(text, &stored) || stored == 0) {
        return absl::DataLossError(absl::StrCat("the database at ", where,
                                                " has a malformed schema version \"", text, "\""));
      }
      if (stored != kSchemaVersion) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database at ", where, " has schema version ", stored, " and this sotto-server ",
            "serves version ", kSchemaVersion,
            stored > kSchemaVersion ? ": run the newer sotto-server that wrote it" : ""));
      }
    }
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    (*c)->broken = true;
    return absl::InternalError(
        absl::StrCat("cannot set up the database at ", where, ": ", e.what()));
  }
}

// 16 random bytes: this store's own row in sotto_sync.
std::string NewNodeId() {
  std::random_device random;
  std::string id(16, '\0');
  for (char& b : id) b = static_cast<char>(random());
  return id;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                         const PostgresStoreOptions& options) {
  if (!IsPostgresUrl(url)) {
    return absl::InvalidArgumentError(absl::StrCat("not a PostgreSQL URL: ", RedactPostgresUrl(url),
                                                   " (postgres://USER@HOST:PORT/DATABASE)"));
  }
  auto store = std::make_unique<PostgresStore>(url, options.max_connections, NewNodeId());
  absl::Status prepared = store->Prepare();
  if (!prepared.ok()) return prepared;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sotto::server
