#include "server/storage/pg_session.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/storage/postgres_store.h"

namespace sotto::server {

absl::StatusOr<PgConnPtr> ConnectPgSession(const std::string& url) {
  // expand_dbname: the URL's own parameters, then these, which win.
  const char* keys[] = {"dbname",
                        "connect_timeout",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        nullptr};
  const char* values[] = {url.c_str(), "5", "1", "5", "2", "3", nullptr};
  PgConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string reason = conn == nullptr ? "out of memory" : PQerrorMessage(conn.get());
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", RedactPostgresUrl(url), ": ", reason));
  }
  // libpq prints notices and the server's parting FATAL on stderr; our
  // callers log what matters (LogStorageError) themselves.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

absl::StatusOr<PgResultPtr> ExecPg(PGconn* conn, const std::string& sql) {
  PgResultPtr result(PQexec(conn, sql.c_str()));
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string reason = PQerrorMessage(conn);
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return absl::UnavailableError(absl::StrCat("the database refused a statement: ", reason));
  }
  return result;
}

std::string HexOf(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string BytesOfHex(absl::string_view hex) {
  if (hex.size() % 2 != 0) return "";
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return absl::HexStringToBytes(hex);
}

}  // namespace sotto::server
