#ifndef SOTTO_SERVER_APP_OPEN_FILES_H_
#define SOTTO_SERVER_APP_OPEN_FILES_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace sotto::server {

// Raises this process's soft RLIMIT_NOFILE to its hard limit and returns
// the soft limit now in force. Every connection holds a descriptor, and
// systemd's default soft limit (1024) is one flood of idle connections
// away from running out. FAILED_PRECONDITION if the limit cannot be read.
// Not thread-safe against other changes of the limit.
absl::StatusOr<uint64_t> RaiseOpenFilesLimit();

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_OPEN_FILES_H_
