// Fuzzes the checks on public key material a client uploads (registration,
// key upload, add-device): ValidatePublicKey, ValidateSignedPreKey and
// ValidateOneTimePreKeys, with fuzzed keys, ids and signatures. The seed
// corpus holds real keys and a real signature, so mutation starts from input
// that passes and explores the signature check itself.
//
// Invariants: an accepted key is 33 bytes starting 0x05; an accepted signed
// prekey has an id in 1..0xFFFFFF and a 64-byte signature; accepted one-time
// prekeys are at most kMaxPreKeysPerUpload with distinct ids in range; every
// refusal is INVALID_ARGUMENT (never a crash or another code).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "server/domain/key_validation.h"
#include "server/domain/limits.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sotto::server::OneTimePreKey;
using sotto::server::SignedPreKey;

void CheckKey(const std::string& key) {
  FUZZ_CHECK(key.size() == sotto::server::kPublicKeyBytes, "key of the wrong length accepted");
  FUZZ_CHECK(static_cast<uint8_t>(key[0]) == sotto::server::kDjbKeyType,
             "key of the wrong type accepted");
}

void CheckRefusal(const absl::Status& s) {
  FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, "refusal not INVALID_ARGUMENT");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);

  std::string key = in.ConsumeRandomLengthString(40);
  absl::Status s = sotto::server::ValidatePublicKey(key, "identity_key");
  if (s.ok())
    CheckKey(key);
  else
    CheckRefusal(s);

  std::string identity = in.ConsumeRandomLengthString(40);
  SignedPreKey spk;
  spk.id = in.ConsumeIntegral<uint32_t>();
  spk.public_key = in.ConsumeRandomLengthString(40);
  spk.signature = in.ConsumeRandomLengthString(70);
  s = sotto::server::ValidateSignedPreKey(identity, spk);
  if (s.ok()) {
    CheckKey(spk.public_key);
    FUZZ_CHECK(spk.id >= sotto::server::kMinPreKeyId && spk.id <= sotto::server::kMaxPreKeyId,
               "signed prekey id out of range accepted");
    FUZZ_CHECK(spk.signature.size() == sotto::server::kSignatureBytes,
               "signature of the wrong length accepted");
  } else {
    CheckRefusal(s);
  }

  std::vector<OneTimePreKey> prekeys;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, sotto::server::kMaxPreKeysPerUpload + 2);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    OneTimePreKey k;
    k.id = in.ConsumeIntegral<uint32_t>();
    k.public_key = in.ConsumeRandomLengthString(40);
    prekeys.push_back(std::move(k));
  }
  s = sotto::server::ValidateOneTimePreKeys(prekeys);
  if (s.ok()) {
    FUZZ_CHECK(prekeys.size() <= sotto::server::kMaxPreKeysPerUpload, "too many prekeys accepted");
    std::set<uint32_t> ids;
    for (const OneTimePreKey& k : prekeys) {
      CheckKey(k.public_key);
      FUZZ_CHECK(k.id >= sotto::server::kMinPreKeyId && k.id <= sotto::server::kMaxPreKeyId,
                 "prekey id out of range accepted");
      FUZZ_CHECK(ids.insert(k.id).second, "repeated prekey id accepted");
    }
  } else {
    CheckRefusal(s);
  }
  return 0;
}
