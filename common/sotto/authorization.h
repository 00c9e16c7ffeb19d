#ifndef SOTTO_COMMON_SOTTO_AUTHORIZATION_H_
#define SOTTO_COMMON_SOTTO_AUTHORIZATION_H_

// The device credential every authenticated call carries (docs/PROTOCOL.md,
// "Accounts and authentication"): one metadata entry
//   authorization: Sotto <handle>.<device_id>:<secret as 64 lowercase hex>
// Built here, in one place, for everything that speaks to the server (tests,
// the benchmark, and the client's transport); parsed by server/rpc/auth.h.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto {

// The metadata key (gRPC keys are lowercase).
inline constexpr char kAuthorizationKey[] = "authorization";
// The value's scheme prefix, with its trailing space.
inline constexpr char kAuthorizationScheme[] = "Sotto ";

// "Sotto <handle>.<device_id>:<hex of secret>". Does not validate: a test may
// build a malformed value on purpose (a wrong secret length, a bad handle).
std::string AuthorizationValue(absl::string_view handle, uint32_t device_id,
                               absl::string_view secret);

}  // namespace sotto

#endif  // SOTTO_COMMON_SOTTO_AUTHORIZATION_H_
