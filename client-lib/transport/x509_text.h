#ifndef SOTTO_CLIENT_LIB_TRANSPORT_X509_TEXT_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_X509_TEXT_H_

// X.509 names and times as the transport shows them in messages (CRLs,
// refused certificates).

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <string>

#include "absl/time/time.h"

namespace sotto::client::transport {

// RFC 2253, e.g. "CN=Practice CA,O=Example"; "?" if it cannot be printed.
std::string X509NameText(const X509_NAME* name);

// InfiniteFuture for a null time (a CRL without nextUpdate); InfinitePast if
// it does not parse.
absl::Time X509TimeOf(const ASN1_TIME* t);

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_X509_TEXT_H_
