#ifndef SOTTO_SERVER_OPERATOR_OPERATOR_BACKEND_H_
#define SOTTO_SERVER_OPERATOR_OPERATOR_BACKEND_H_

// What sotto-server's operator commands (enrol-therapist, audit, deactivate,
// reactivate, stats) act on: the running server, through its operator socket
// (SocketOperator), or, when no server runs on the data directory, the
// database itself (DatabaseOperator). The same domain code answers behind
// both, so a command gives the same result either way; OpenOperatorBackend
// chooses once, so no command has two code paths.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/app/key_files.h"
#include "server/domain/enrolment.h"
#include "server/domain/user_list.h"
#include "server/storage/store.h"
#include "sotto/v1/operator.pb.h"

namespace sotto::server {

// A checkpoint of the database (Store::Checkpoint) in a new directory
// inside the data directory, and the key files that belong with it: what
// `sotto-server backup` copies out (server/app/backup.h).
struct TakenCheckpoint {
  std::string dir;
  KeyFilePaths keys;  // resolved
};

class OperatorBackend {
 public:
  virtual ~OperatorBackend() = default;

  // Issues a one-time enrolment code for therapist `handle`, valid for
  // `valid_hours` (0: the default, 7 days). The issue is audited. Errors:
  // INVALID_ARGUMENT (bad handle, too many hours), ALREADY_EXISTS (the handle
  // is registered), and those of reaching the server or database.
  virtual absl::StatusOr<IssuedCode> IssueEnrolmentCode(const std::string& handle,
                                                        uint32_t valid_hours) = 0;

  // Deactivates (`deactivated`) or reactivates the account `handle`; audited.
  // Errors: INVALID_ARGUMENT, NOT_FOUND (no such user), FAILED_PRECONDITION
  // (already so), and those of reaching the server or database.
  virtual absl::Status SetDeactivated(const std::string& handle, bool deactivated) = 0;

  // The running server's counters. FAILED_PRECONDITION "no server is running
  // on DIR ..." from the database: counters live only in a server process.
  virtual absl::StatusOr<sotto::v1::StatsResponse> Stats() = 0;

  // Calls `fn` with each stored audit entry (key and value as stored, so the
  // caller can verify the chain), oldest first. Stops at, and returns, the
  // first error of `fn` or of the read. The database is opened read-only.
  virtual absl::Status ForEachAuditEntry(
      const std::function<absl::Status(const KeyValue&)>& fn) = 0;

  // Checkpoints the database while the server goes on serving (or, with no
  // server, with the database opened for it): every write answered before
  // the call is in it. The caller removes the directory (WriteBackup
  // does). Errors: those of reaching the server or database, and of
  // Store::Checkpoint.
  virtual absl::StatusOr<TakenCheckpoint> Checkpoint() = 0;

  // Calls `fn` with each account (user_list.h), in handle order. Stops at,
  // and returns, the first error of `fn` or of the read. The database is
  // opened read-only.
  virtual absl::Status ForEachUser(const std::function<absl::Status(const UserSummary&)>& fn) = 0;

  // Whether a running server answers (the socket), so what only it knows
  // (an account's last-seen hour) can be told from "unknown".
  virtual bool ServerRunning() const = 0;
};

// DATA_DIR/operator.sock.
std::string OperatorSocketPath(const std::string& data_dir);

// A SocketOperator if a server answers on `data_dir`'s operator socket
// within a few seconds, else a DatabaseOperator (no socket, a stale socket
// of a server that is gone, or a server that does not answer: the database
// lock then says which), which uses the key files `keys` (empty paths: the
// defaults beside the data directory, key_files.h). Never null.
std::unique_ptr<OperatorBackend> OpenOperatorBackend(const std::string& data_dir,
                                                     const KeyFilePaths& keys = {});

}  // namespace sotto::server

#endif  // SOTTO_SERVER_OPERATOR_OPERATOR_BACKEND_H_
