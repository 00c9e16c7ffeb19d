#ifndef SOTTO_SERVER_DOMAIN_CALL_CONTEXT_H_
#define SOTTO_SERVER_DOMAIN_CALL_CONTEXT_H_

#include <string>

namespace sotto::server {

// What the domain knows of a call besides its authenticated caller, passed
// explicitly from the RPC handler into the domain call it makes: today, the
// source the audit trail records. Empty for calls without a network peer
// (the operator socket, the offline operator commands, tests).
struct CallContext {
  // The caller's address as the transport gives it ("ipv4:1.2.3.4:5678"),
  // recorded as the source of the audit entries the call writes.
  std::string source;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CALL_CONTEXT_H_
