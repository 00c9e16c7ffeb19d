#ifndef SOTTO_COMMON_SOTTO_NO_CORE_DUMPS_H_
#define SOTTO_COMMON_SOTTO_NO_CORE_DUMPS_H_

#include "absl/status/status.h"

namespace sotto {

// Keeps this process's memory out of core files and away from other
// processes of the same user: sets RLIMIT_CORE to 0 (soft and hard, so a
// child cannot raise it again) and clears the dumpable flag
// (prctl PR_SET_DUMPABLE 0), which also stops ptrace attachment and
// /proc/PID/mem reads by anything but root. The server and the CLI call it
// first thing in main(), before any key is loaded: a crash dump would
// otherwise carry the audit MAC key, the code pepper, device secrets and
// plaintext, to wherever the system's core_pattern sends it.
//
// Process-wide and permanent; idempotent. Thread-safe (two syscalls).
// Errors: INTERNAL naming the call that failed and errno's text.
absl::Status DisableCoreDumps();

}  // namespace sotto

#endif  // SOTTO_COMMON_SOTTO_NO_CORE_DUMPS_H_
