#include "server/storage/postgres_write_function.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sotto::server::pg {
std::string PerTable(absl::string_view var, absl::string_view stmt) {
  std::string out;
  for (Table t : kAllTables) {
    const std::string name(TableName(t));
    std::string one(stmt);
    for (size_t at = one.find("$T"); at != std::string::npos; at = one.find("$T", at)) {
      one.replace(at, 2, "sotto_" + name);
    }
    absl::StrAppend(&out, out.empty() ? "IF " : " ELSIF ", var, " = '", name, "' THEN ", one);
  }
  absl::StrAppend(&out, " ELSE RAISE EXCEPTION 'sotto: no table %', ", var, "; END IF;");
  return out;
}

std::vector<std::string> CreateFunctionsSql() {
  // Expectations first, in the order given (sorted by the caller, so two
  // writers lock rows in one order and never wait for each other in a
  // cycle); then the ops in order (a later op on the same key wins).
  std::string write = absl::StrCat(
      "CREATE FUNCTION ", kWriteFunction,
      "(xt text[], xk bytea[], xv bytea[], ot text[], ok bytea[], ov bytea[], synced boolean) "
      "RETURNS void LANGUAGE plpgsql AS $fn$\n"
      "DECLARE i int; n bigint; got bytea;\n"
      "BEGIN\n"
      "  IF synced THEN SET LOCAL synchronous_commit TO DEFAULT; END IF;\n"
      "  FOR i IN 1 .. coalesce(array_length(xt, 1), 0) LOOP\n"
      "    IF xv[i] IS NULL THEN\n"
      // A committed row, or one another transaction inserted and then
      // commits, is a conflict; else the placeholder holds the key until
      // commit (the caller deletes it by an op unless the batch writes it).
      "      ",
      PerTable("xt[i]",
               "INSERT INTO $T (k, v) VALUES (xk[i], ''::bytea) ON CONFLICT (k) DO NOTHING;"),
      "\n      GET DIAGNOSTICS n = ROW_COUNT;\n"
      "      IF n = 0 THEN RAISE EXCEPTION USING ERRCODE = '",
      kExpectationSqlState,
      "', MESSAGE = 'expectation ' || (i - 1) || ': found'; END IF;\n"
      "    ELSE\n"
      "      got := NULL;\n"
      "      ",
      PerTable("xt[i]", "SELECT v INTO got FROM $T WHERE k = xk[i] FOR UPDATE;"),
      "\n      IF got IS NULL THEN RAISE EXCEPTION USING ERRCODE = '", kExpectationSqlState,
      "', MESSAGE = 'expectation ' || (i - 1) || ': absent'; END IF;\n"
      "      IF got <> xv[i] THEN RAISE EXCEPTION USING ERRCODE = '",
      kExpectationSqlState,
      "', MESSAGE = 'expectation ' || (i - 1) || ': found'; END IF;\n"
      "    END IF;\n"
      "  END LOOP;\n"
      "  FOR i IN 1 .. coalesce(array_length(ot, 1), 0) LOOP\n"
      "    IF ov[i] IS NULL THEN\n      ",
      PerTable("ot[i]", "DELETE FROM $T WHERE k = ok[i];"), "\n    ELSE\n      ",
      PerTable("ot[i]",
               "INSERT INTO $T (k, v) VALUES (ok[i], ov[i]) ON CONFLICT (k) DO UPDATE SET v = "
               "EXCLUDED.v;"),
      "\n    END IF;\n"
      "  END LOOP;\n"
      "END $fn$");
  // The WAL is one sequence: this commit's flush (and the synchronous
  // standbys' acknowledgement) covers every commit before it.
  std::string sync = absl::StrCat("CREATE FUNCTION ", kSyncFunction,
                                  "(node_id bytea) RETURNS void LANGUAGE plpgsql AS $fn$\n"
                                  "BEGIN\n"
                                  "  SET LOCAL synchronous_commit TO DEFAULT;\n"
                                  "  INSERT INTO sotto_sync (node, n) VALUES (node_id, 1)\n"
                                  "    ON CONFLICT (node) DO UPDATE SET n = sotto_sync.n + 1;\n"
                                  "END $fn$");
  return {std::move(write), std::move(sync)};
}

std::string FunctionExistsSql(absl::string_view name) {
  return absl::StrCat(
      "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = '", name,
      "' AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))");
}

std::string WriteCallSql() {
  return absl::StrCat("SELECT ", kWriteFunction,
                      "($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::bytea[], "
                      "$6::bytea[], $7::boolean)");
}

std::string SyncCallSql() { return absl::StrCat("SELECT ", kSyncFunction, "($1::bytea)"); }

std::string TableArray(const std::vector<Table>& tables) {
  std::string out = "{";
  for (size_t i = 0; i < tables.size(); ++i) {
    // Table names are lower-case letters and '_': nothing to quote.
    absl::StrAppend(&out, i == 0 ? "" : ",", TableName(tables[i]));
  }
  return out + "}";
}

std::string ByteaArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    // "\\x0a0b": the array parser turns \\ into \, and bytea reads \x hex.
    absl::StrAppend(&out, "\"\\\\x", absl::BytesToHexString(*values[i]), "\"");
  }
  return out + "}";
}

std::optional<FailedExpectation> ParseFailedExpectation(absl::string_view message) {
  constexpr absl::string_view kPrefix = "expectation ";
  const size_t at = message.find(kPrefix);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = message.substr(at + kPrefix.size());
  const size_t colon = rest.find(": ");
  if (colon == absl::string_view::npos) return std::nullopt;
  FailedExpectation failed;
  if (!absl::SimpleAtoi(rest.substr(0, colon), &failed.index)) return std::nullopt;
  rest = rest.substr(colon + 2);
  if (rest.substr(0, 5) == "found") {
    failed.found = true;
  } else if (rest.substr(0, 6) != "absent") {
    return std::nullopt;
  }
  return failed;
}

}  // namespace sotto::server::pg
