#include "client-lib/transport/tls_diagnosis.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client-lib/transport/address_policy.h"
#include "client-lib/transport/openssl_ptr.h"
#include "client-lib/transport/x509_text.h"

namespace sotto::client::transport {
namespace {

// The port of "host:port" / "[v6]:port" (after an optional scheme); 443
// when there is none, as gRPC assumes for TLS.
std::string PortOf(absl::string_view address) {
  for (absl::string_view scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(address, scheme)) {
      address.remove_prefix(scheme.size());
      break;
    }
  }
  size_t colon = absl::string_view::npos;
  if (absl::StartsWith(address, "[")) {
    const size_t end = address.find(']');
    if (end != absl::string_view::npos && end + 1 < address.size() && address[end + 1] == ':') {
      colon = end + 1;
    }
  } else if (address.find(':') == address.rfind(':')) {
    colon = address.find(':');
  }
  if (colon == absl::string_view::npos || colon + 1 >= address.size()) return "443";
  return std::string(address.substr(colon + 1));
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A connected TCP socket with send/receive timeouts, or -1.
int Connect(const std::string& host, const std::string& port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

std::string TimeOf(const ASN1_TIME* t) {
  const absl::Time when = X509TimeOf(t);
  if (when == absl::InfinitePast() || when == absl::InfiniteFuture()) return "?";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", when, absl::UTCTimeZone());
}

// The DNS names and IP addresses a certificate is for.
std::string NamesOf(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text) != nullptr) {
        names.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(sans);
  if (names.empty()) return X509NameText(X509_get_subject_name(cert));
  return absl::StrJoin(names, ", ");
}

// gRPC (ssl_transport_security.cc) lets a certificate pass when no CRL of its
// issuer is at hand; so does this check, or it would blame the wrong thing.
int IgnoreMissingCrl(int ok, X509_STORE_CTX* ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) return 1;
  return ok;
}

// The sentence for verification error `error` at `cert`.
std::string Reason(int error, X509* cert, const std::string& host, const TrustSettings& trust) {
  const std::string subject = cert != nullptr ? X509NameText(X509_get_subject_name(cert)) : "?";
  const std::string issuer = cert != nullptr ? X509NameText(X509_get_issuer_name(cert)) : "?";
  const std::string which = absl::StrCat("the server's TLS certificate (", subject, ")");
  switch (error) {
    case X509_V_ERR_CERT_REVOKED:
      return absl::StrCat(which, " has been revoked (listed in the CRL of ", issuer, ")");
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat(which, " expired on ", TimeOf(X509_get0_notAfter(cert)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat(which, " is not valid before ", TimeOf(X509_get0_notBefore(cert)));
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return absl::StrCat(which, " is not for ", host, " (it names ", NamesOf(cert), ")");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return absl::StrCat(
          which, " is issued by ", issuer, ", which is not ",
          trust.system_roots ? "one of the system's root CAs" : "the CA this client trusts");
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return absl::StrCat(
          which, " names ", issuer,
          " as its issuer but is not signed by the trusted certificate of that name");
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return absl::StrCat("the certificate revocation list of ", issuer,
                          " is out of date; get a current one from your provider");
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return absl::StrCat("the certificate revocation list of ", issuer, " is not valid yet");
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
      return absl::StrCat("the certificate revocation list of ", issuer,
                          " is not signed by that CA (", X509_verify_cert_error_string(error), ")");
    default:
      return absl::StrCat(which, " does not verify: ", X509_verify_cert_error_string(error));
  }
}

// The trusted CAs and CRLs, as gRPC's TLS credentials are given them.
SslPtr<X509_STORE> TrustStore(const TrustSettings& trust) {
  SslPtr<X509_STORE> store(X509_STORE_new());
  if (!store) return nullptr;
  if (trust.system_roots) {
    // gRPC's system roots: GRPC_DEFAULT_SSL_ROOTS_FILE_PATH if set, else the
    // system's store (Debian's gRPC is built to use it).
    const char* override_path = getenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
    if (override_path != nullptr && *override_path != '\0') {
      X509_STORE_load_file(store.get(), override_path);
    } else {
      X509_STORE_set_default_paths(store.get());
    }
  } else {
    SslPtr<BIO> bio(BIO_new_mem_buf(trust.ca_pem.data(), static_cast<int>(trust.ca_pem.size())));
    while (bio) {
      SslPtr<X509> ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!ca) break;
      X509_STORE_add_cert(store.get(), ca.get());
    }
  }
  if (!trust.crl_pem.empty()) {
    SslPtr<BIO> bio(BIO_new_mem_buf(trust.crl_pem.data(), static_cast<int>(trust.crl_pem.size())));
    while (bio) {
      SslPtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
      if (!crl) break;
      X509_STORE_add_crl(store.get(), crl.get());
    }
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  X509_STORE_set_verify_cb(store.get(), IgnoreMissingCrl);
  ERR_clear_error();  // the read loops end on an "no start line" error
  return store;
}

}  // namespace

std::optional<std::string> ExplainCertificateRefusal(absl::string_view address,
                                                     const TrustSettings& trust, int timeout_ms) {
  const std::string host = HostOf(address);
  if (host.empty()) return std::nullopt;
  const int fd = Connect(host, PortOf(address), timeout_ms);
  if (fd < 0) return std::nullopt;
  SslPtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr<SSL> ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    close(fd);
    return std::nullopt;
  }
  // Accept whatever comes: the point is to look at it, and nothing is sent
  // after the handshake.
  SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);
  if (!IsIpAddress(host)) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  static const unsigned char kAlpnH2[] = {2, 'h', '2'};
  SSL_set_alpn_protos(ssl.get(), kAlpnH2, sizeof kAlpnH2);
  const bool handshaken = SSL_connect(ssl.get()) == 1;
  std::optional<std::string> reason;
  X509* leaf = handshaken ? SSL_get0_peer_certificate(ssl.get()) : nullptr;
  if (leaf != nullptr) {
    SslPtr<X509_STORE> store = TrustStore(trust);
    SslPtr<X509_STORE_CTX> verify(X509_STORE_CTX_new());
    if (store && verify &&
        X509_STORE_CTX_init(verify.get(), store.get(), leaf, SSL_get_peer_cert_chain(ssl.get())) ==
            1) {
      X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(verify.get());
      if (IsIpAddress(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      }
      if (X509_verify_cert(verify.get()) != 1) {
        reason = Reason(X509_STORE_CTX_get_error(verify.get()),
                        X509_STORE_CTX_get_current_cert(verify.get()), host, trust);
      }
    }
  }
  if (handshaken) SSL_shutdown(ssl.get());
  ssl.reset();
  close(fd);
  ERR_clear_error();
  return reason;
}

}  // namespace sotto::client::transport
