#include "server/domain/key_validation.h"

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/limits.h"

extern "C" {
#include <signal/curve.h>
#include <signal/signal_protocol.h>
}

namespace sotto::server {
namespace {

struct PublicKeyUnref {
  void operator()(ec_public_key* k) const { SIGNAL_UNREF(k); }
};
using PublicKeyPtr = std::unique_ptr<ec_public_key, PublicKeyUnref>;

// Decodes a serialized public key; null if libsignal rejects it. A null
// signal_context is fine here: decoding needs no crypto provider (it is only
// used for logging).
PublicKeyPtr Decode(absl::string_view key) {
  ec_public_key* raw = nullptr;
  int rc =
      curve_decode_point(&raw, reinterpret_cast<const uint8_t*>(key.data()), key.size(), nullptr);
  if (rc != 0) {
    SIGNAL_UNREF(raw);
    return nullptr;
  }
  return PublicKeyPtr(raw);
}

absl::Status ValidatePreKeyId(uint32_t id, absl::string_view field) {
  if (id < kMinPreKeyId || id > kMaxPreKeyId) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " id ", id, " is outside 1..", kMaxPreKeyId));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePublicKey(absl::string_view key, absl::string_view field) {
  if (key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be ", kPublicKeyBytes, " bytes, got ", key.size()));
  }
  if (static_cast<uint8_t>(key[0]) != kDjbKeyType) {
    return absl::InvalidArgumentError(absl::StrCat(field, " has key type byte ",
                                                   static_cast<int>(static_cast<uint8_t>(key[0])),
                                                   ", want 5 (Curve25519)"));
  }
  if (Decode(key) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid Curve25519 public key"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSignedPreKey(absl::string_view identity_key, const SignedPreKey& spk) {
  absl::Status s = ValidatePreKeyId(spk.id, "signed_prekey");
  if (!s.ok()) return s;
  s = ValidatePublicKey(spk.public_key, "signed_prekey.public_key");
  if (!s.ok()) return s;
  if (spk.signature.size() != kSignatureBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signed_prekey.signature must be ", kSignatureBytes, " bytes, got ", spk.signature.size()));
  }
  PublicKeyPtr identity = Decode(identity_key);
  if (identity == nullptr) {
    return absl::InvalidArgumentError("identity_key is not a valid public key");
  }
  int rc = curve_verify_signature(
      identity.get(), reinterpret_cast<const uint8_t*>(spk.public_key.data()),
      spk.public_key.size(), reinterpret_cast<const uint8_t*>(spk.signature.data()),
      spk.signature.size());
  if (rc != 1) {
    return absl::InvalidArgumentError("signed prekey signature does not verify");
  }
  return absl::OkStatus();
}

absl::Status ValidateOneTimePreKeys(const std::vector<OneTimePreKey>& prekeys) {
  if (prekeys.size() > kMaxPreKeysPerUpload) {
    return absl::InvalidArgumentError(absl::StrCat("too many one_time_prekeys: ", prekeys.size(),
                                                   " (at most ", kMaxPreKeysPerUpload,
                                                   " per call)"));
  }
  absl::flat_hash_set<uint32_t> seen;
  for (size_t i = 0; i < prekeys.size(); ++i) {
    std::string field = absl::StrCat("one_time_prekeys[", i, "]");
    absl::Status s = ValidatePreKeyId(prekeys[i].id, field);
    if (!s.ok()) return s;
    s = ValidatePublicKey(prekeys[i].public_key, field + ".public_key");
    if (!s.ok()) return s;
    if (!seen.insert(prekeys[i].id).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, " repeats prekey id ", prekeys[i].id));
    }
  }
  return absl::OkStatus();
}

}  // namespace sotto::server
