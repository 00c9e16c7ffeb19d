#ifndef SOTTO_CLIENT_LIB_TRANSPORT_TLS_DIAGNOSIS_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_TLS_DIAGNOSIS_H_

// Why a TLS server's certificate was refused, in words a user can act on.
// gRPC says only "failed to connect … certificate verify failed"; this runs a
// handshake of its own, verifies the certificate chain the server presents
// the way gRPC's TLS credentials do (the trusted CAs, the CRLs, the host name
// of the address), and names the first check that failed.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto::client::transport {

// What to trust, as in TlsConfig.
struct TrustSettings {
  std::string ca_pem;
  bool system_roots = false;
  std::string crl_pem;
};

// Connects to `address` (host:port, as the Connection got it), completes a
// TLS handshake that accepts any certificate — it sends the ClientHello and
// nothing after it: no credentials, no request — and verifies the server's
// chain against `trust` and the host. Returns a sentence such as
// "the server's TLS certificate (CN=localhost) has been revoked (listed in the
// CRL of CN=Practice CA)", or nullopt when it could not connect or complete a
// handshake within `timeout_ms`, or the certificate verifies (then gRPC's
// refusal had another cause and its own message should stand).
// Blocking; for the error path only. Thread-safe.
std::optional<std::string> ExplainCertificateRefusal(absl::string_view address,
                                                     const TrustSettings& trust,
                                                     int timeout_ms = 3000);

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_TLS_DIAGNOSIS_H_
