#include "server/storage/postgres_read_function.h"

#include "absl/strings/str_cat.h"
#include "server/storage/postgres_write_function.h"

namespace sotto::server::pg {

std::string CreateReadFunctionSql() {
  // The output columns are variables in the body: named apart from the
  // tables' k and v, which are qualified (t.k) besides.
  return absl::StrCat(
      "CREATE FUNCTION ", kReadFunction,
      "(gt text[], gk bytea[], st text[], sp bytea[], se bytea[], sl bigint[]) "
      "RETURNS TABLE (kind int, idx int, key bytea, val bytea) LANGUAGE plpgsql STABLE AS $fn$\n"
      "DECLARE i int;\n"
      "BEGIN\n"
      "  FOR i IN 1 .. coalesce(array_length(gt, 1), 0) LOOP\n"
      "    ",
      PerTable("gt[i]",
               "RETURN QUERY SELECT 0, i - 1, NULL::bytea, t.v FROM $T t WHERE t.k = gk[i];"),
      "\n  END LOOP;\n"
      "  FOR i IN 1 .. coalesce(array_length(st, 1), 0) LOOP\n"
      // Two statements, not `se[i] IS NULL OR t.k < se[i]`: a cached plan
      // of that could not bound the index scan by the prefix's end.
      "    IF se[i] IS NULL THEN\n      ",
      PerTable("st[i]",
               "RETURN QUERY SELECT 1, i - 1, t.k, t.v FROM $T t WHERE t.k >= sp[i] "
               "ORDER BY t.k LIMIT sl[i];"),
      "\n    ELSE\n      ",
      PerTable("st[i]",
               "RETURN QUERY SELECT 1, i - 1, t.k, t.v FROM $T t WHERE t.k >= sp[i] "
               "AND t.k < se[i] ORDER BY t.k LIMIT sl[i];"),
      "\n    END IF;\n"
      "  END LOOP;\n"
      "END $fn$");
}

std::string ReadCallSql() {
  return absl::StrCat("SELECT kind, idx, key, val FROM ", kReadFunction,
                      "($1::text[], $2::bytea[], $3::text[], $4::bytea[], $5::bytea[], "
                      "$6::bigint[])");
}

std::string BigintArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&out, i == 0 ? "" : ",", values[i]);
  return out + "}";
}

}  // namespace sotto::server::pg
