#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CORE_DUMPS_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CORE_DUMPS_H_

/// @file
/// A process that holds an open profile holds its keys, its device secret
/// and decrypted messages in memory; a core dump would write them to disk in
/// clear, where the profile's encryption no longer protects them.

#include "absl/status/status.h"
#include "sotto/export.h"

namespace sotto {

/// Stops this process from dumping core: sets RLIMIT_CORE to 0 (soft and
/// hard, so it cannot be raised again without privilege) and marks the
/// process not dumpable (prctl PR_SET_DUMPABLE 0, which on Linux also keeps
/// other processes of the same user from attaching a debugger to read its
/// memory). Call it first thing in main(), before the profile is opened or a
/// passphrase is read. Idempotent and thread-safe. INTERNAL naming the call
/// that failed (the process may then still dump core).
SOTTO_EXPORT absl::Status DisableCoreDumps();

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CORE_DUMPS_H_
