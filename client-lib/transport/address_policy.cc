#include "client-lib/transport/address_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sotto/loopback.h"

namespace sotto::client::transport {
std::string HostOf(absl::string_view address) {
  for (absl::string_view scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(address, scheme)) {
      address.remove_prefix(scheme.size());
      break;
    }
  }
  if (absl::StartsWith(address, "[")) {
    const size_t end = address.find(']');
    return std::string(end == absl::string_view::npos ? address.substr(1)
                                                      : address.substr(1, end - 1));
  }
  const size_t first = address.find(':');
  if (first == absl::string_view::npos) return std::string(address);
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (address.find(':', first + 1) != absl::string_view::npos) return std::string(address);
  return std::string(address.substr(0, first));
}

absl::Status CheckPlainTcpAddress(absl::string_view address) {
  const std::string host = HostOf(address);
  if (!host.empty() && sotto::IsLoopbackHost(host)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("refusing to send credentials to ", host.empty() ? std::string(address) : host,
                   " over plain TCP; Sotto allows only loopback until TLS is configured"));
}

absl::Status CheckServerAddress(absl::string_view address, bool tls) {
  if (!tls) return CheckPlainTcpAddress(address);
  if (HostOf(address).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server address '", address, "' has no host; use host:port"));
  }
  return absl::OkStatus();
}

}  // namespace sotto::client::transport
