#include "server/domain/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace sotto::server {
namespace {

// Fetched once, kept for the life of the process (an EVP_MD is read-only
// and may be shared between threads). Should that fetch have failed, every
// call looks the algorithm up again, as EVP_sha256() does.
const EVP_MD* Algorithm() {
  static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

struct ContextFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string Sha256(std::initializer_list<absl::string_view> parts) {
  const EVP_MD* md = Algorithm();
  std::unique_ptr<EVP_MD_CTX, ContextFree> ctx(EVP_MD_CTX_new());
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) {
    return std::string();
  }
  for (absl::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) return std::string();
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len != kSha256Bytes) {
    return std::string();
  }
  std::string out(reinterpret_cast<const char*>(digest), len);
  OPENSSL_cleanse(digest, sizeof(digest));
  return out;
}

}  // namespace sotto::server
