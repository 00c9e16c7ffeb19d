#ifndef SOTTO_SERVER_APP_KEY_FILES_H_
#define SOTTO_SERVER_APP_KEY_FILES_H_

// The server's secret keys on disk: each in its own file OUTSIDE the data
// directory, so that a copy of the database (a backup, a stolen disk image
// of the data volume, a breach that reads RocksDB) holds neither.
//
//   audit key    DATA_DIR.audit-key    MACs the audit chain (audit_log.h)
//   code pepper  DATA_DIR.code-pepper  keys stored enrolment and invite
//                                      codes (codes.h)
//   notification key  DATA_DIR.notify-key  seals stored email addresses
//                                      (notification_settings.h)
//
// A file is 64 hex digits and a newline, mode 0600, created by the first
// start that needs it. A file that group or others may read is refused.
// Each may be moved elsewhere (e.g. a separate volume or a secrets mount)
// with --audit-key-file and --code-pepper-file; the operator backs them up
// apart from the database (server/README.md).

#include <string>

#include "absl/status/statusor.h"
#include "server/domain/audit_log.h"
#include "server/domain/secret_key.h"

namespace sotto::server {

// Where the keys are; an empty path means the default beside the data
// directory.
struct KeyFilePaths {
  std::string audit_key;
  std::string code_pepper;
  std::string notification_key;
};

// `paths` with each empty path replaced by its default for `data_dir`
// (DATA_DIR.audit-key, DATA_DIR.code-pepper, DATA_DIR.notify-key; trailing slashes of DATA_DIR
// dropped).
KeyFilePaths ResolveKeyFilePaths(const std::string& data_dir, KeyFilePaths paths);

// Reads the key in `path`. If the file does not exist and `create` is set,
// writes a fresh random key there first (mode 0600, written to a temporary
// file, synced and renamed into place). Errors, each naming the path:
// NOT_FOUND (missing and not `create`), FAILED_PRECONDITION (readable by
// group or others: chmod 600), DATA_LOSS (not 64 hex digits), and I/O
// failures as INTERNAL.
absl::StatusOr<SecretKey> LoadKeyFile(const std::string& path, bool create);

// The AuditLog::KeySource of the audit key in `path`. For a MAC'd chain
// the file must exist: a lost key file is reported (restore it) rather than
// silently replaced by a key that verifies nothing. For a legacy chain it
// must not: a chain with no MAC beside an existing key was rewritten in the
// unkeyed format (or continued by an older server), and sealing it with
// audit.mac.started would bless the rewrite. Empty chain: made if missing.
AuditLog::KeySource AuditKeyFile(std::string path);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_KEY_FILES_H_
