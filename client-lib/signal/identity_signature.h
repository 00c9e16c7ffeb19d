#ifndef SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_SIGNATURE_H_
#define SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_SIGNATURE_H_

// What anyone can check about an identity key without a profile: a
// signature made with Engine::SignWithIdentity, and the key's half of a
// safety number. Used to verify a clinical record (client-lib/record/) on
// a machine that holds no Sotto account at all.
//
// Thread-safe: every call makes its own libsignal context.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::signal {

// OK if `signature` (64 bytes) is an XEdDSA signature of `message` by the
// identity key `public_key` (33 bytes, 0x05 + X25519). INVALID_ARGUMENT for a
// key that does not decode; PERMISSION_DENIED when the signature does not
// verify (a wrong key, a changed message, a damaged signature).
absl::Status VerifyIdentitySignature(absl::string_view public_key, absl::string_view message,
                                     absl::string_view signature);

// The 30 digits `handle` with `public_key` contributes to every safety
// number it is part of (libsignal's displayable fingerprint, local half,
// kFingerprintIterations): the same digits appear, as one half, in the
// 60-digit number `sotto safety-number HANDLE` shows on a contact's device
// when that device holds this key. INVALID_ARGUMENT for a bad key.
absl::StatusOr<std::string> IdentityFingerprintHalf(absl::string_view handle,
                                                    absl::string_view public_key);

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_IDENTITY_SIGNATURE_H_
