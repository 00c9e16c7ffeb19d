#include "client-lib/storage/value_sealer.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/big_endian.h"

namespace sotto::client::storage {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kNonceBytes == 16 + 8, "nonce = prefix | counter");

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

// The associated data a value is sealed with: its stored key, behind the
// format's tag from format 2 on (store_header.h). A value sealed for one
// format therefore never opens as another's, whatever a later format
// changes in how values are laid out.
std::string AssociatedData(uint8_t format, absl::string_view full_key) {
  if (format == kLegacyFormat) return std::string(full_key);
  std::string ad(kStoreMagic);
  ad.push_back(static_cast<char>(format));
  ad.append(full_key.data(), full_key.size());
  return ad;
}

}  // namespace

ValueSealer::ValueSealer(const SecretKey& data_key) {
  crypto_kdf_derive_from_key(value_key_.data(), kKeyBytes, 1, "sottoval", data_key.data());
  randombytes_buf(nonce_prefix_.data(), nonce_prefix_.size());
}

std::string ValueSealer::Seal(absl::string_view full_key, absl::string_view value) {
  const std::string ad = AssociatedData(kCurrentFormat, full_key);
  std::string out(kNonceBytes + value.size() + kTagBytes, '\0');
  std::copy(nonce_prefix_.begin(), nonce_prefix_.end(), out.begin());
  std::string counter;
  PutU64(&counter, nonce_counter_.fetch_add(1));
  out.replace(nonce_prefix_.size(), counter.size(), counter);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(out.data()) + kNonceBytes, &clen, U(value.data()),
                                             value.size(), U(ad.data()), ad.size(), nullptr,
                                             U(out.data()), value_key_.data());
  return out;
}

absl::StatusOr<std::string> ValueSealer::Open(absl::string_view where, absl::string_view full_key,
                                              absl::string_view sealed, uint8_t format) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return absl::DataLossError(absl::StrCat("truncated value in ", where));
  }
  const std::string ad = AssociatedData(format, full_key);
  std::string out(sealed.size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          U(out.data()), &mlen, nullptr, U(sealed.data()) + kNonceBytes,
          sealed.size() - kNonceBytes, U(ad.data()), ad.size(), U(sealed.data()),
          value_key_.data()) != 0) {
    return absl::DataLossError(absl::StrCat("value in ", where, " failed authentication"));
  }
  return out;
}

}  // namespace sotto::client::storage
