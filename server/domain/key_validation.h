#ifndef SOTTO_SERVER_DOMAIN_KEY_VALIDATION_H_
#define SOTTO_SERVER_DOMAIN_KEY_VALIDATION_H_

// Checks on public key material before it is stored, shared by registration
// and key upload. All return INVALID_ARGUMENT naming `field` on failure.
// Thread-safe.

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/domain/types.h"

namespace sotto::server {

// 33 bytes, type byte 0x05, and libsignal's curve_decode_point accepts it.
absl::Status ValidatePublicKey(absl::string_view key, absl::string_view field);

// The key is valid, the id in 1..0xFFFFFF, and `signature` is a valid XEdDSA
// signature by `identity_key` over the 33-byte public key
// ("signed prekey signature does not verify" otherwise).
absl::Status ValidateSignedPreKey(absl::string_view identity_key,
                                  const SignedPreKey& signed_prekey);

// At most kMaxPreKeysPerUpload keys, each valid, ids in range and distinct.
absl::Status ValidateOneTimePreKeys(const std::vector<OneTimePreKey>& prekeys);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_KEY_VALIDATION_H_
