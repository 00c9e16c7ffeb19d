// sotto/core_dumps.h is the app-facing declaration of the one DisableCoreDumps
// (common/sotto/no_core_dumps.cc, shared with sotto-server). sotto::common is
// a static library linked privately, so the linker keeps only the objects
// the client library refers to: this reference keeps DisableCoreDumps in
// libsotto_client for the apps that call it.

#include "sotto/core_dumps.h"

#include "sotto/no_core_dumps.h"

namespace sotto::client {

extern absl::Status (*const kDisableCoreDumps)();
absl::Status (*const kDisableCoreDumps)() = &DisableCoreDumps;

}  // namespace sotto::client
