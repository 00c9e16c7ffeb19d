#ifndef SOTTO_SERVER_STORAGE_PG_SESSION_H_
#define SOTTO_SERVER_STORAGE_PG_SESSION_H_

// A dedicated libpq connection (not one of the store's pooled ones), for
// what lives as long as a session does: the LISTEN of the queue bus and the
// leader's advisory lock. Internal to server/storage.

#include <libpq-fe.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::server {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;

struct PgResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultCloser>;

// Connects to `url` with TCP keepalives (5 s idle, 3 probes 2 s apart: a
// database host that vanished is noticed in about 11 s) and a 5 s connect
// timeout. Errors: UNAVAILABLE naming the URL without its password and
// libpq's reason.
absl::StatusOr<PgConnPtr> ConnectPgSession(const std::string& url);

// Runs `sql` (no parameters); OK when it returned rows or completed.
// Errors: UNAVAILABLE with libpq's message (the connection is then
// usually broken: PQstatus says).
absl::StatusOr<PgResultPtr> ExecPg(PGconn* conn, const std::string& sql);

// `bytes` as lowercase hex, and back (nullopt-free: invalid hex gives "").
std::string HexOf(absl::string_view bytes);
std::string BytesOfHex(absl::string_view hex);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_PG_SESSION_H_
