#include "client-lib/signal/identity_signature.h"

#include <signal/curve.h>
#include <signal/fingerprint.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/crypto_provider.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/status.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {
namespace {

// A libsignal context of our own, with no stores: decoding a key and the
// fingerprint's SHA-512 need one, nothing else. The provider must outlive
// the context, hence the order of the members.
struct BareContext {
  std::unique_ptr<CryptoProvider> crypto;
  SignalPtr<signal_context> context;
};

absl::StatusOr<BareContext> NewBareContext() {
  BareContext bare;
  SOTTO_ASSIGN_OR_RETURN(bare.crypto, CryptoProvider::Create());
  signal_context* raw = nullptr;
  int rc = signal_context_create(&raw, nullptr);
  bare.context = Adopt(raw);
  if (rc >= 0) rc = signal_context_set_crypto_provider(raw, &bare.crypto->provider());
  if (rc < 0) return FromSignal(rc, "creating a signal context");
  return bare;
}

absl::StatusOr<SignalPtr<ec_public_key>> Decode(absl::string_view key, signal_context* context) {
  ec_public_key* raw = nullptr;
  int rc =
      curve_decode_point(&raw, reinterpret_cast<const uint8_t*>(key.data()), key.size(), context);
  SignalPtr<ec_public_key> decoded = Adopt(raw);
  if (rc < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the identity key (", key.size(), " bytes) is not a Curve25519 public key"));
  }
  return decoded;
}

}  // namespace

absl::Status VerifyIdentitySignature(absl::string_view public_key, absl::string_view message,
                                     absl::string_view signature) {
  SOTTO_ASSIGN_OR_RETURN(BareContext bare, NewBareContext());
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> key, Decode(public_key, bare.context.get()));
  // curve_verify_signature answers 1 for a good signature, 0 for a bad one
  // and a negative code for malformed input (e.g. a wrong length).
  int rc = curve_verify_signature(
      key.get(), reinterpret_cast<const uint8_t*>(message.data()), message.size(),
      reinterpret_cast<const uint8_t*>(signature.data()), signature.size());
  if (rc != 1) {
    return absl::PermissionDeniedError("the signature does not verify with this identity key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> IdentityFingerprintHalf(absl::string_view handle,
                                                    absl::string_view public_key) {
  SOTTO_ASSIGN_OR_RETURN(BareContext bare, NewBareContext());
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> key, Decode(public_key, bare.context.get()));
  fingerprint_generator* raw_generator = nullptr;
  int rc = fingerprint_generator_create(&raw_generator, kFingerprintIterations,
                                        kScannableFingerprintVersion, bare.context.get());
  SignalPtr<fingerprint_generator> generator = Adopt(raw_generator);
  if (rc < 0) return FromSignal(rc, "computing a fingerprint");
  // Both sides the same person: only the local half is wanted, and it
  // depends on nothing but (handle, key).
  const std::string id(handle);
  fingerprint* raw_fingerprint = nullptr;
  rc = fingerprint_generator_create_for(generator.get(), id.c_str(), key.get(), id.c_str(),
                                        key.get(), &raw_fingerprint);
  SignalPtr<fingerprint> fp = Adopt(raw_fingerprint);
  if (rc < 0) return FromSignal(rc, "computing a fingerprint");
  return std::string(displayable_fingerprint_local(fingerprint_get_displayable(fp.get())));
}

}  // namespace sotto::client::signal
