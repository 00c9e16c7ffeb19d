#ifndef SOTTO_SERVER_RPC_AUTH_H_
#define SOTTO_SERVER_RPC_AUTH_H_

#include <grpcpp/server_context.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"

namespace sotto::server::rpc {

// The metadata key and scheme of device authentication:
//   authorization: Sotto <handle>.<device_id>:<secret as 64 lowercase hex>
inline constexpr char kAuthorizationKey[] = "authorization";
inline constexpr char kAuthScheme[] = "Sotto ";

struct Credentials {
  std::string handle;
  uint32_t device_id = 0;
  std::string secret;  // raw bytes
};

// Parses an authorization header value. Errors: UNAUTHENTICATED saying what
// is malformed (scheme, device id, secret encoding).
absl::StatusOr<Credentials> ParseAuthorization(absl::string_view value);

// The caller's address without its port ("ipv4:127.0.0.1", "ipv6:[::1]",
// "unix:..."), for per-source limits.
std::string PeerAddress(const grpc::CallbackServerContext& context);

// The code-attempt limiter key of the authenticated account `handle`.
std::string AccountAttemptKey(absl::string_view handle);

// The limiter keys of an unauthenticated code redemption (Register) from
// `source` (PeerAddress) claiming `handle`: the address and the handle.
std::vector<std::string> CodeAttemptKeys(absl::string_view source, absl::string_view handle);

// Reads and checks the call's authorization metadata against `accounts`.
// Errors: UNAUTHENTICATED (missing, malformed, or rejected credentials; the
// message never says whether the account exists).
absl::StatusOr<AuthenticatedDevice> AuthenticateCall(const grpc::CallbackServerContext& context,
                                                     Accounts& accounts);

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_AUTH_H_
