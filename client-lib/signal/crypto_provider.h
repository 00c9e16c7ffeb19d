#ifndef SOTTO_CLIENT_LIB_SIGNAL_CRYPTO_PROVIDER_H_
#define SOTTO_CLIENT_LIB_SIGNAL_CRYPTO_PROVIDER_H_

#include <openssl/evp.h>
#include <signal/signal_protocol.h>

#include <memory>

#include "absl/status/statusor.h"

namespace sotto::client::signal {

// libsignal's signal_crypto_provider on OpenSSL 3's EVP APIs:
//  - random bytes: RAND_bytes;
//  - HMAC-SHA256: RFC 2104 over EVP_MD SHA-256 (no EVP_MAC: it fetches the
//    digest by name on every init);
//  - SHA-512: EVP_MD_CTX, reset after final so libsignal can reuse a context;
//  - AES-CBC with PKCS#5 padding and AES-CTR, 128/192/256-bit keys, 16-byte IV.
// The algorithms are fetched once here and reused: fetching per call costs more
// than the MAC itself (LIBSIGNAL-NOTES.md). Failures become SG_ERR_* codes.
// The fetched algorithms are immutable after Create, so one provider may serve
// any number of threads and contexts. Must outlive every signal_context that
// was given provider().
class CryptoProvider {
 public:
  static absl::StatusOr<std::unique_ptr<CryptoProvider>> Create();
  ~CryptoProvider();
  CryptoProvider(const CryptoProvider&) = delete;
  CryptoProvider& operator=(const CryptoProvider&) = delete;

  // For signal_context_set_crypto_provider (which copies it).
  const signal_crypto_provider& provider() const { return provider_; }

  // The cipher for libsignal's `cipher` (SG_CIPHER_*) and key length, or
  // nullptr if unsupported.
  const EVP_CIPHER* Cipher(int cipher, size_t key_len) const;
  const EVP_MD* sha256() const { return sha256_; }
  const EVP_MD* sha512() const { return sha512_; }

 private:
  CryptoProvider() = default;

  signal_crypto_provider provider_{};
  EVP_MD* sha256_ = nullptr;
  EVP_MD* sha512_ = nullptr;
  EVP_CIPHER* cbc_[3] = {nullptr, nullptr, nullptr};  // 128, 192, 256
  EVP_CIPHER* ctr_[3] = {nullptr, nullptr, nullptr};
};

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_CRYPTO_PROVIDER_H_
