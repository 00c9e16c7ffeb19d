#include "client-lib/devices/provisioning.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client-lib/identity/base32.h"

namespace sotto::client::devices {
namespace {

constexpr char kCodePrefix[] = "sotto-link-";
constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kMacKeyInfo[] = "sotto-link-v1 mac";
constexpr char kMacLabel[] = "sotto-link-v1 request";
constexpr char kSealInfo[] = "sotto-link-v1 provisioning";
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

std::string Hmac(absl::string_view key, std::initializer_list<absl::string_view> parts) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, U(key), key.size());
  for (absl::string_view p : parts) crypto_auth_hmacsha256_update(&state, U(p), p.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, U(out));
  sodium_memzero(&state, sizeof(state));
  return out;
}

std::string MacKey(const LinkCode& code) { return Hkdf32("", code.secret, kMacKeyInfo); }

}  // namespace

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; it fails only without an
  // entropy source, when nothing here can work.
  if (sodium_init() < 0) std::abort();
}

std::string Hkdf32(absl::string_view salt, absl::string_view ikm, absl::string_view info) {
  // RFC 5869: an empty salt is HashLen zero bytes.
  const std::string zero_salt(crypto_auth_hmacsha256_BYTES, '\0');
  std::string prk = Hmac(salt.empty() ? absl::string_view(zero_salt) : salt, {ikm});
  std::string okm = Hmac(prk, {info, absl::string_view("\x01", 1)});
  Wipe(prk);
  return okm;
}

std::string FormatLinkCode(const LinkCode& code) {
  std::string raw(1, static_cast<char>(kCodeVersion));
  raw += code.slot_id;
  raw += code.secret;
  // Every copy of the encoded secret but the one returned is wiped.
  std::string b32 = Base32Encode(raw, kAlphabet);
  Wipe(raw);
  std::string out = kCodePrefix;
  out.reserve(out.size() + b32.size() + b32.size() / 4);
  for (size_t i = 0; i < b32.size(); i += 4) {
    if (i > 0) out.push_back('-');
    out.append(b32, i, 4);
  }
  Wipe(b32);
  return out;
}

LinkCode::~LinkCode() { Wipe(secret); }

namespace {
// Wipes the strings that held (an encoding of) the secret, on every return.
struct WipeOnReturn {
  std::string& a;
  std::string& b;
  ~WipeOnReturn() {
    Wipe(a);
    Wipe(b);
  }
};
}  // namespace

absl::StatusOr<LinkCode> ParseLinkCode(absl::string_view text) {
  std::string body;
  std::string raw;
  WipeOnReturn wipe{body, raw};
  body.reserve(text.size());
  for (char c : text) {
    if (c == '-' || c == ' ' || c == '\n' || c == '\t') continue;
    body.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  const std::string prefix = "sottolink";
  size_t start = 0;
  if (body.compare(0, prefix.size(), prefix) == 0) start = prefix.size();
  raw.reserve(body.size());
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = start; i < body.size(); ++i) {
    const char c = body[i];
    const char* at = std::strchr(kAlphabet, c);
    if (c == '\0' || at == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the link code contains '", std::string(1, c),
          "', which no link code has (letters a-z and digits 2-7 only): check for a typo"));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(at - kAlphabet);
    bits += 5;
    if (bits >= 8) {
      raw.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  const size_t want = 1 + kSlotIdBytes + kLinkSecretBytes;
  if (raw.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("the link code is ", raw.size() < want ? "too short" : "too long",
                     ": copy the whole code shown by `sotto link-device`"));
  }
  if (static_cast<uint8_t>(raw[0]) != kCodeVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("the link code has version ", static_cast<int>(static_cast<uint8_t>(raw[0])),
                     "; this sotto understands version ", kCodeVersion, ": update it"));
  }
  return LinkCode{raw.substr(1, kSlotIdBytes), raw.substr(1 + kSlotIdBytes)};
}

EphemeralKey::EphemeralKey() : public_(kX25519Bytes, '\0'), private_(kX25519Bytes, '\0') {
  EnsureSodium();
  randombytes_buf(private_.data(), private_.size());
  crypto_scalarmult_base(U(public_), U(private_));
}

EphemeralKey::~EphemeralKey() { Wipe(private_); }

absl::StatusOr<std::string> EphemeralKey::Agree(absl::string_view peer_public) const {
  if (peer_public.size() != kX25519Bytes) {
    return absl::InvalidArgumentError(absl::StrCat("an ephemeral key must be ", kX25519Bytes,
                                                   " bytes, got ", peer_public.size()));
  }
  std::string shared(kX25519Bytes, '\0');
  if (crypto_scalarmult(U(shared), U(private_), U(peer_public)) != 0) {
    return absl::InvalidArgumentError("the peer's ephemeral key is a low-order point");
  }
  return shared;
}

std::string RequestMac(const LinkCode& code, absl::string_view ephemeral_public) {
  std::string key = MacKey(code);
  std::string mac = Hmac(key, {kMacLabel, code.slot_id, ephemeral_public});
  Wipe(key);
  return mac;
}

bool CheckRequestMac(const LinkCode& code, absl::string_view ephemeral_public,
                     absl::string_view mac) {
  if (mac.size() != kMacBytes) return false;
  const std::string want = RequestMac(code, ephemeral_public);
  return sodium_memcmp(want.data(), mac.data(), kMacBytes) == 0;
}

namespace {

// The AEAD key and associated data of one provisioning message.
struct SealParams {
  std::string key;
  std::string ad;
  ~SealParams() { Wipe(key); }
};

SealParams Params(const LinkCode& code, absl::string_view shared, absl::string_view new_public,
                  absl::string_view existing_public) {
  SealParams p;
  p.ad = absl::StrCat(std::string(1, static_cast<char>(kSealedVersion)), code.slot_id, new_public,
                      existing_public);
  p.key = Hkdf32(code.secret, shared,
                 absl::StrCat(kSealInfo, code.slot_id, new_public, existing_public));
  return p;
}

}  // namespace

absl::StatusOr<std::string> SealProvisioning(const LinkCode& code,
                                             absl::string_view their_ephemeral,
                                             absl::string_view plaintext) {
  EphemeralKey ours;
  absl::StatusOr<std::string> shared = ours.Agree(their_ephemeral);
  if (!shared.ok()) return shared.status();
  const SealParams p = Params(code, *shared, their_ephemeral, ours.public_key());
  Wipe(*shared);
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string out =
      absl::StrCat(std::string(1, static_cast<char>(kSealedVersion)), ours.public_key(), nonce);
  const size_t head = out.size();
  out.resize(head + plaintext.size() + kTagBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(out) + head, &written, U(plaintext),
                                             plaintext.size(), U(p.ad), p.ad.size(), nullptr,
                                             U(nonce), U(p.key));
  out.resize(head + written);
  return out;
}

absl::StatusOr<std::string> OpenProvisioning(const LinkCode& code, const EphemeralKey& ours,
                                             absl::string_view sealed) {
  const size_t head = 1 + kX25519Bytes + kNonceBytes;
  if (sealed.size() < head + kTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the provisioning message is too short (", sealed.size(), " bytes)"));
  }
  if (static_cast<uint8_t>(sealed[0]) != kSealedVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the provisioning message has version ", static_cast<int>(static_cast<uint8_t>(sealed[0])),
        "; expected ", kSealedVersion, ": update sotto on both devices"));
  }
  const absl::string_view theirs = sealed.substr(1, kX25519Bytes);
  const absl::string_view nonce = sealed.substr(1 + kX25519Bytes, kNonceBytes);
  const absl::string_view body = sealed.substr(head);
  absl::StatusOr<std::string> shared = ours.Agree(theirs);
  if (!shared.ok()) return shared.status();
  const SealParams p = Params(code, *shared, ours.public_key(), theirs);
  Wipe(*shared);
  std::string plain(body.size() - kTagBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(U(plain), &written, nullptr, U(body), body.size(),
                                                 U(p.ad), p.ad.size(), U(nonce), U(p.key)) != 0) {
    return absl::DataLossError(
        "the provisioning message does not open with this code: it was not made by the device "
        "that showed the code (the server or someone else substituted it, or it was damaged). "
        "Nothing was set up; show a new code on your other device and try again");
  }
  plain.resize(written);
  return plain;
}

}  // namespace sotto::client::devices
