#include "client-lib/transport/x509_text.h"

#include <time.h>

#include "client-lib/transport/openssl_ptr.h"

namespace sotto::client::transport {

std::string X509NameText(const X509_NAME* name) {
  SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

absl::Time X509TimeOf(const ASN1_TIME* t) {
  if (t == nullptr) return absl::InfiniteFuture();
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace sotto::client::transport
