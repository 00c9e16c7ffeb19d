#include "client-lib/storage/store_header.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/big_endian.h"
#include "sotto/status_macros.h"

namespace sotto::client::storage {
namespace {

constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kAdBytes = kStoreMagic.size() + 1 + 8 + 8 + kSaltBytes;
constexpr size_t kHeaderBytes = kAdBytes + kNonceBytes + kKeyBytes + kTagBytes;

static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

absl::Status DeriveKek(absl::string_view passphrase, absl::string_view salt, uint64_t ops,
                       uint64_t mem, const SecretKey& kek) {
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
      mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("Argon2id limits out of range: ops ", ops, ", mem ", mem));
  }
  if (crypto_pwhash(kek.data(), kKeyBytes, passphrase.data(), passphrase.size(), U(salt.data()),
                    ops, static_cast<size_t>(mem), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("Argon2id ran out of memory");
  }
  return absl::OkStatus();
}

}  // namespace

SecretKey::SecretKey() {
  // sodium_malloc needs sodium_init (idempotent and thread-safe), which
  // fails only without a source of randomness, when nothing here can work.
  if (sodium_init() < 0) std::abort();
  p_ = static_cast<unsigned char*>(sodium_malloc(kKeyBytes));
  if (p_ == nullptr) std::abort();
}

SecretKey::~SecretKey() { sodium_free(p_); }  // sodium_free zeroes before freeing

absl::StatusOr<StoreHeader> ParseStoreHeader(absl::string_view raw) {
  if (raw.size() != kHeaderBytes || raw.substr(0, kStoreMagic.size()) != kStoreMagic) {
    return absl::DataLossError("local store header is damaged");
  }
  StoreHeader h;
  h.format = static_cast<uint8_t>(raw[kStoreMagic.size()]);
  if (h.format != kLegacyFormat && h.format != kCurrentFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "local store format ", static_cast<int>(h.format),
        " is not supported (a newer Sotto made it; this one reads formats ",
        static_cast<int>(kLegacyFormat), " and ", static_cast<int>(kCurrentFormat), ")"));
  }
  h.ops = GetU64(raw.substr(kStoreMagic.size() + 1, 8));
  h.mem = GetU64(raw.substr(kStoreMagic.size() + 9, 8));
  return h;
}

absl::StatusOr<std::string> WrapStoreHeader(const SecretKey& data_key, absl::string_view passphrase,
                                            uint64_t ops, uint64_t mem, uint8_t format) {
  std::string header(kStoreMagic);
  header.push_back(static_cast<char>(format));
  PutU64(&header, ops);
  PutU64(&header, mem);
  std::string salt(kSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  header += salt;
  const std::string ad = header;
  SecretKey kek;
  SOTTO_RETURN_IF_ERROR(DeriveKek(passphrase, salt, ops, mem, kek));
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string wrapped(kKeyBytes + kTagBytes, '\0');
  unsigned long long wlen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(wrapped.data()), &wlen, data_key.data(), kKeyBytes,
                                             U(ad.data()), ad.size(), nullptr, U(nonce.data()),
                                             kek.data());
  header += nonce;
  header += wrapped;
  return header;
}

absl::Status UnwrapStoreHeader(absl::string_view raw, absl::string_view passphrase,
                               const SecretKey& data_key) {
  SOTTO_ASSIGN_OR_RETURN(StoreHeader header, ParseStoreHeader(raw));
  const absl::string_view ad = raw.substr(0, kAdBytes);
  const absl::string_view salt = ad.substr(kAdBytes - kSaltBytes);
  const absl::string_view nonce = raw.substr(kAdBytes, kNonceBytes);
  const absl::string_view wrapped = raw.substr(kAdBytes + kNonceBytes);
  SecretKey kek;
  SOTTO_RETURN_IF_ERROR(DeriveKek(passphrase, salt, header.ops, header.mem, kek));
  unsigned long long klen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(data_key.data(), &klen, nullptr, U(wrapped.data()),
                                                 wrapped.size(), U(ad.data()), ad.size(),
                                                 U(nonce.data()), kek.data()) != 0 ||
      klen != kKeyBytes) {
    return absl::PermissionDeniedError("wrong passphrase");
  }
  return absl::OkStatus();
}

}  // namespace sotto::client::storage
