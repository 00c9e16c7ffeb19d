#ifndef SOTTO_CLIENT_LIB_TRANSPORT_ADDRESS_POLICY_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_ADDRESS_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sotto::client::transport {

// The host part of a gRPC target "host:port", "[v6]:port", "host" or a bare
// IPv6 address; a "dns:///", "ipv4:" or "ipv6:" scheme is skipped.
std::string HostOf(absl::string_view address);

// Until TLS is configured the client speaks plain TCP, and every call carries
// the device secret in the clear; so only a loopback server is allowed:
// 127.0.0.0/8, ::1 (also as [::1]) and localhost. OK for those;
// INVALID_ARGUMENT "refusing to send credentials to HOST over plain TCP; ..."
// for anything else (an empty address included).
absl::Status CheckPlainTcpAddress(absl::string_view address);

// With TLS any host with a non-empty name is allowed (the certificate check
// authenticates it); without, CheckPlainTcpAddress.
absl::Status CheckServerAddress(absl::string_view address, bool tls);

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_ADDRESS_POLICY_H_
