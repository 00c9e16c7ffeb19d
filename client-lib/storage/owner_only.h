#ifndef SOTTO_CLIENT_LIB_STORAGE_OWNER_ONLY_H_
#define SOTTO_CLIENT_LIB_STORAGE_OWNER_ONLY_H_

// A profile directory that only its owner can read or change. The files
// under it are the person's sealed keys and message history: sealing keeps
// them secret, but a directory others can write lets them replace or delete
// the profile, and one others can read hands them the ciphertext to attack
// the passphrase offline. The server keeps its data directory 0700 for the
// same reasons (server/rpc/server.cc).

#include <string>

#include "absl/status/status.h"

namespace rocksdb {
class Env;
}

namespace sotto::client::storage {

// FAILED_PRECONDITION naming `dir` and the fix when the existing directory
// `dir` is not owned by the effective user or can be written by its group or
// by others; INTERNAL if it cannot be examined. Thread-safe.
absl::Status CheckOwnerOnly(const std::string& dir);

// Sets `dir` to 0700 and every regular file directly in it to 0600,
// whatever the umask was when they were made (profiles from before this
// check were 0755/0644). INTERNAL naming the path that could not be changed.
absl::Status MakeOwnerOnly(const std::string& dir);

// The RocksDB Env for stores in such a directory: the default Posix one,
// except that every file or directory RocksDB creates is set to 0600 / 0700
// the moment it is made (RocksDB itself creates them 0644 / 0755 less the
// umask). Process-wide, never destroyed; thread-safe.
rocksdb::Env* OwnerOnlyEnv();

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_OWNER_ONLY_H_
