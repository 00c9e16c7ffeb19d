#ifndef SOTTO_CLIENT_LIB_TRANSPORT_CRL_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_CRL_H_

// Certificate revocation lists (X.509 CRLs) for the client's TLS: parsing
// the PEM an app or the CLI hands over, keeping the newest list per issuer,
// and laying them out as the hashed directory that gRPC's TLS credentials
// read (TlsCredentialsOptions::set_crl_directory; OpenSSL's by-directory
// lookup, file names `<issuer hash>.r<n>` as `openssl rehash` makes them).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sotto::client::transport {

struct CrlInfo {
  // The issuer's name, RFC 2253 ("CN=Practice CA,O=...").
  std::string issuer;
  absl::Time last_update;
  // InfiniteFuture when the CRL has no nextUpdate.
  absl::Time next_update;
  // This CRL alone, as PEM.
  std::string pem;
};

// The CRLs in `pem`: one or more "-----BEGIN X509 CRL-----" blocks (other
// text around them is ignored). INVALID_ARGUMENT if there is none, or a
// block does not parse. Does not check signatures: OpenSSL checks each
// against its issuer's certificate during the TLS handshake.
absl::StatusOr<std::vector<CrlInfo>> ParseCrls(absl::string_view pem);

// One CRL per issuer out of `stored` and `given` (either may be empty): the
// one issued later (lastUpdate; on a tie, `given`), so that handing over an
// older list never un-revokes a certificate. Returned as PEM, issuers in
// order of first appearance. INVALID_ARGUMENT as ParseCrls for a non-empty
// `given`; a `stored` that no longer parses is DATA_LOSS.
absl::StatusOr<std::string> MergeCrls(absl::string_view stored, absl::string_view given);

// OK if no CRL in `pem` is past its nextUpdate at `now`. Otherwise
// FAILED_PRECONDITION naming the issuer and the time: OpenSSL refuses every
// certificate of that issuer while its CRL is out of date (gRPC reports only
// "certificate verify failed"), so the caller says it first.
absl::Status CheckCrlsCurrent(absl::string_view pem, absl::Time now);

// A private directory (mode 0700, under $TMPDIR or /tmp) holding the CRLs of
// a PEM under their hashed names, for gRPC to read during handshakes. It
// must outlive every channel that uses it: OpenSSL reads a file when it
// first needs that issuer's CRL, and a missing file means "no CRL", which
// gRPC accepts. Removed with its files on destruction. Not copyable.
class CrlDirectory {
 public:
  // INVALID_ARGUMENT as ParseCrls; INTERNAL if the directory or a file
  // cannot be written.
  static absl::StatusOr<std::unique_ptr<CrlDirectory>> Create(absl::string_view pem);

  CrlDirectory(const CrlDirectory&) = delete;
  CrlDirectory& operator=(const CrlDirectory&) = delete;
  ~CrlDirectory();

  const std::string& path() const { return path_; }

 private:
  explicit CrlDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_CRL_H_
