#include "client-lib/signal/crypto_provider.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstring>
#include <new>
#include <vector>

#include "absl/status/status.h"

namespace sotto::client::signal {
namespace {

const CryptoProvider* Self(void* user_data) {
  return static_cast<const CryptoProvider*>(user_data);
}

int Random(uint8_t* data, size_t len, void*) {
  if (len > INT_MAX) return SG_ERR_INVAL;
  return RAND_bytes(data, static_cast<int>(len)) == 1 ? SG_SUCCESS : SG_ERR_UNKNOWN;
}

// HMAC-SHA256 (RFC 2104) on a SHA-256 fetched once, rather than EVP_MAC:
// EVP_MAC_CTX_new + EVP_MAC_init fetch the digest by name for every HMAC
// (OpenSSL's method store, under its lock), and libsignal computes several
// HMACs a message, each with a new key (chain and message keys): issue 21's
// perf put HmacInit at 11% of a sync's CPU. One digest context serves the
// inner hash and then the outer one. CryptoProviderTest checks RFC 4231.
constexpr size_t kSha256Block = 64;

struct HmacState {
  EVP_MD_CTX* md = nullptr;
  uint8_t outer_pad[kSha256Block] = {};
};

void FreeHmac(HmacState* state) {
  EVP_MD_CTX_free(state->md);
  OPENSSL_cleanse(state->outer_pad, sizeof(state->outer_pad));
  delete state;
}

int HmacInit(void** context, const uint8_t* key, size_t key_len, void* user_data) {
  const EVP_MD* sha256 = Self(user_data)->sha256();
  auto* state = new (std::nothrow) HmacState;
  if (state == nullptr) return SG_ERR_NOMEM;
  state->md = EVP_MD_CTX_new();
  if (state->md == nullptr) {
    FreeHmac(state);
    return SG_ERR_NOMEM;
  }
  // A key longer than a block is hashed first; a shorter one is zero-padded.
  uint8_t block[kSha256Block] = {};
  bool ok = true;
  if (key_len > kSha256Block) {
    unsigned int hashed = 0;
    ok = EVP_Digest(key, key_len, block, &hashed, sha256, nullptr) == 1;
  } else if (key_len > 0) {
    std::memcpy(block, key, key_len);
  }
  uint8_t inner_pad[kSha256Block];
  for (size_t i = 0; i < kSha256Block; ++i) {
    inner_pad[i] = block[i] ^ 0x36;
    state->outer_pad[i] = block[i] ^ 0x5c;
  }
  ok = ok && EVP_DigestInit_ex2(state->md, sha256, nullptr) == 1 &&
       EVP_DigestUpdate(state->md, inner_pad, sizeof(inner_pad)) == 1;
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(inner_pad, sizeof(inner_pad));
  if (!ok) {
    FreeHmac(state);
    return SG_ERR_UNKNOWN;
  }
  *context = state;
  return SG_SUCCESS;
}

int HmacUpdate(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_DigestUpdate(static_cast<HmacState*>(context)->md, data, len) == 1 ? SG_SUCCESS
                                                                                : SG_ERR_UNKNOWN;
}

int HmacFinal(void* context, signal_buffer** output, void* user_data) {
  auto* state = static_cast<HmacState*>(context);
  uint8_t inner[EVP_MAX_MD_SIZE];
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0, len = 0;
  const bool ok = EVP_DigestFinal_ex(state->md, inner, &inner_len) == 1 &&
                  EVP_DigestInit_ex2(state->md, Self(user_data)->sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(state->md, state->outer_pad, kSha256Block) == 1 &&
                  EVP_DigestUpdate(state->md, inner, inner_len) == 1 &&
                  EVP_DigestFinal_ex(state->md, mac, &len) == 1;
  OPENSSL_cleanse(inner, sizeof(inner));
  if (!ok) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(mac, len);
  OPENSSL_cleanse(mac, sizeof(mac));
  return *output != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

void HmacCleanup(void* context, void*) {
  if (context != nullptr) FreeHmac(static_cast<HmacState*>(context));
}

int ShaInit(void** context, void* user_data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return SG_ERR_NOMEM;
  if (EVP_DigestInit_ex2(ctx, Self(user_data)->sha512(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return SG_ERR_UNKNOWN;
  }
  *context = ctx;
  return SG_SUCCESS;
}

int ShaUpdate(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context), data, len) == 1 ? SG_SUCCESS
                                                                             : SG_ERR_UNKNOWN;
}

int ShaFinal(void* context, signal_buffer** output, void* user_data) {
  auto* ctx = static_cast<EVP_MD_CTX*>(context);
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1) return SG_ERR_UNKNOWN;
  // libsignal digests again with the same context: start it afresh.
  if (EVP_DigestInit_ex2(ctx, Self(user_data)->sha512(), nullptr) != 1) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(md, len);
  OPENSSL_cleanse(md, sizeof(md));
  return *output != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

void ShaCleanup(void* context, void*) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context)); }

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};

int Crypt(bool encrypt, signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
          const uint8_t* iv, size_t iv_len, const uint8_t* input, size_t input_len,
          void* user_data) {
  const EVP_CIPHER* evp = Self(user_data)->Cipher(cipher, key_len);
  if (evp == nullptr || iv_len != 16 || input_len > INT_MAX - 32) return SG_ERR_INVAL;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return SG_ERR_NOMEM;
  if (EVP_CipherInit_ex2(ctx.get(), evp, key, iv, encrypt ? 1 : 0, nullptr) != 1) {
    return SG_ERR_UNKNOWN;
  }
  // PKCS#5 padding is on by default (CBC); CTR is a stream mode.
  std::vector<uint8_t> out(input_len + EVP_CIPHER_block_size(evp) + 16);
  int len = 0, final_len = 0;
  int ok = EVP_CipherUpdate(ctx.get(), out.data(), &len, input, static_cast<int>(input_len)) == 1 &&
           EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) == 1;
  int result = SG_ERR_UNKNOWN;
  if (ok) {
    *output = signal_buffer_create(out.data(), static_cast<size_t>(len + final_len));
    result = *output != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
  }
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

int Encrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
            const uint8_t* iv, size_t iv_len, const uint8_t* plaintext, size_t plaintext_len,
            void* user_data) {
  return Crypt(true, output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len, user_data);
}

int Decrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
            const uint8_t* iv, size_t iv_len, const uint8_t* ciphertext, size_t ciphertext_len,
            void* user_data) {
  return Crypt(false, output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len,
               user_data);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CryptoProvider>> CryptoProvider::Create() {
  std::unique_ptr<CryptoProvider> p(new CryptoProvider());
  p->sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  p->sha512_ = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  const char* cbc[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
  const char* ctr[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
  bool ok = p->sha256_ != nullptr && p->sha512_ != nullptr;
  for (int i = 0; i < 3; ++i) {
    p->cbc_[i] = EVP_CIPHER_fetch(nullptr, cbc[i], nullptr);
    p->ctr_[i] = EVP_CIPHER_fetch(nullptr, ctr[i], nullptr);
    ok = ok && p->cbc_[i] != nullptr && p->ctr_[i] != nullptr;
  }
  if (!ok) return absl::InternalError("OpenSSL lacks SHA-256, SHA-512 or AES");
  p->provider_.random_func = Random;
  p->provider_.hmac_sha256_init_func = HmacInit;
  p->provider_.hmac_sha256_update_func = HmacUpdate;
  p->provider_.hmac_sha256_final_func = HmacFinal;
  p->provider_.hmac_sha256_cleanup_func = HmacCleanup;
  p->provider_.sha512_digest_init_func = ShaInit;
  p->provider_.sha512_digest_update_func = ShaUpdate;
  p->provider_.sha512_digest_final_func = ShaFinal;
  p->provider_.sha512_digest_cleanup_func = ShaCleanup;
  p->provider_.encrypt_func = Encrypt;
  p->provider_.decrypt_func = Decrypt;
  p->provider_.user_data = p.get();
  return p;
}

CryptoProvider::~CryptoProvider() {
  EVP_MD_free(sha256_);
  EVP_MD_free(sha512_);
  for (int i = 0; i < 3; ++i) {
    EVP_CIPHER_free(cbc_[i]);
    EVP_CIPHER_free(ctr_[i]);
  }
}

const EVP_CIPHER* CryptoProvider::Cipher(int cipher, size_t key_len) const {
  int i;
  switch (key_len) {
    case 16:
      i = 0;
      break;
    case 24:
      i = 1;
      break;
    case 32:
      i = 2;
      break;
    default:
      return nullptr;
  }
  if (cipher == SG_CIPHER_AES_CBC_PKCS5) return cbc_[i];
  if (cipher == SG_CIPHER_AES_CTR_NOPADDING) return ctr_[i];
  return nullptr;
}

}  // namespace sotto::client::signal
