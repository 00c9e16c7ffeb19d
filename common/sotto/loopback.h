#ifndef SOTTO_COMMON_SOTTO_LOOPBACK_H_
#define SOTTO_COMMON_SOTTO_LOOPBACK_H_

#include "absl/strings/string_view.h"

namespace sotto {

// True if `host` names this machine's loopback interface: "localhost" (any
// case), an IPv4 address in 127.0.0.0/8, or the IPv6 address ::1, also
// bracketed ("[::1]", as in "[::1]:7443"). False for anything else, the
// empty string included; nothing is resolved. `host` is only the host part:
// no port, no scheme.
//
// Plain TCP is allowed only to such a host, by the server (what it listens
// on) and by the client (where it sends a device secret): anywhere else,
// secrets and metadata would cross a network in clear. Both use this one
// check, so that they can never disagree on what loopback is.
bool IsLoopbackHost(absl::string_view host);

}  // namespace sotto

#endif  // SOTTO_COMMON_SOTTO_LOOPBACK_H_
