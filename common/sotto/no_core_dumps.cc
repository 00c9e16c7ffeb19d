#include "sotto/no_core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sotto {

absl::Status DisableCoreDumps() {
  // The limit first: even should prctl fail, no core file is written.
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(std::string("setrlimit(RLIMIT_CORE, 0) failed: ") +
                               std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(std::string("prctl(PR_SET_DUMPABLE, 0) failed: ") +
                               std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace sotto
