#ifndef SOTTO_SERVER_STORAGE_ERROR_LOG_H_
#define SOTTO_SERVER_STORAGE_ERROR_LOG_H_

#include "absl/strings/string_view.h"

namespace sotto::server {

// Logs a storage error that failed a request: "storage error: WHAT: DETAIL",
// at most one line a second, with the count of those left out since the
// last. A failing disk or database fails every request; one line each would
// bury the log (and the disk it is on). The detail may name hosts, tables,
// files or SQL: it goes to the server's log only, never to a client.
// Thread-safe.
void LogStorageError(absl::string_view what, absl::string_view detail);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_ERROR_LOG_H_
