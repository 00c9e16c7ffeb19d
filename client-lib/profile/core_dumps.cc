#include "sotto/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sotto {

absl::Status DisableCoreDumps() {
  const struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(absl::StrCat(
        "could not disable core dumps (setrlimit RLIMIT_CORE): ", std::strerror(errno)));
  }
  // RLIMIT_CORE does not stop a core_pattern that pipes to a program
  // (systemd-coredump), nor ptrace; PR_SET_DUMPABLE stops both.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(absl::StrCat(
        "could not disable core dumps (prctl PR_SET_DUMPABLE): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace sotto
