#ifndef SOTTO_CLIENT_LIB_PROFILE_HANDLE_H_
#define SOTTO_CLIENT_LIB_PROFILE_HANDLE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sotto::client {

// OK for 3 to 32 of a-z, 0-9, '_' and '-', starting with a letter (the
// server's rule), else INVALID_ARGUMENT naming the handle. Checked before
// anything is sent, so that a typo costs no round trip.
absl::Status ValidateHandle(absl::string_view handle);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_PROFILE_HANDLE_H_
