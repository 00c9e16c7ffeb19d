#ifndef SOTTO_CLIENT_LIB_TRANSPORT_OPENSSL_PTR_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_OPENSSL_PTR_H_

// Owning handles for the OpenSSL objects the transport uses to read CRLs and
// to explain a refused server certificate. Business code holds each one in an
// SslPtr and never calls *_free itself; the deleter exists only for the types
// listed, so SslPtr<SomethingElse> does not compile.

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

namespace sotto::client::transport {

// Left undefined: only the specialisations below exist.
template <typename T>
struct SslDeleter;

#define SOTTO_SSL_DELETER_(T, FREE)          \
  template <>                                \
  struct SslDeleter<T> {                     \
    void operator()(T* p) const { FREE(p); } \
  }
SOTTO_SSL_DELETER_(BIO, BIO_free_all);
SOTTO_SSL_DELETER_(X509, X509_free);
SOTTO_SSL_DELETER_(X509_CRL, X509_CRL_free);
SOTTO_SSL_DELETER_(X509_STORE, X509_STORE_free);
SOTTO_SSL_DELETER_(X509_STORE_CTX, X509_STORE_CTX_free);
SOTTO_SSL_DELETER_(SSL_CTX, SSL_CTX_free);
SOTTO_SSL_DELETER_(SSL, SSL_free);
#undef SOTTO_SSL_DELETER_

template <typename T>
using SslPtr = std::unique_ptr<T, SslDeleter<T>>;

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_OPENSSL_PTR_H_
