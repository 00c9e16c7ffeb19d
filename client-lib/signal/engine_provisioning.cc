// What linking a device moves between two devices of one account
// (client-lib/devices/): the account's identity key pair, which linked
// devices share (a contact's client accepts a new device of a known user
// only with a key it already trusts for them), and the contacts' trusted
// keys and verifications, so that the new device keeps the same pins.

#include <mutex>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/engine_impl.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {

using engine_internal::Transaction;
using storage::Space;

namespace {
constexpr size_t kPublicKeyBytes = 33;
constexpr size_t kPrivateKeyBytes = 32;
}  // namespace

absl::StatusOr<Engine::IdentityKeyPair> Engine::ExportIdentityKeyPair() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto pub, impl_->bridge.Get(Space::kIdentity, StoreBridge::kPublicKey));
  SOTTO_ASSIGN_OR_RETURN(auto priv, impl_->bridge.Get(Space::kIdentity, StoreBridge::kPrivateKey));
  if (!pub.has_value() || !priv.has_value()) {
    return absl::FailedPreconditionError("no identity: call CreateIdentity first");
  }
  return IdentityKeyPair{*std::move(pub), *std::move(priv)};
}

absl::Status Engine::ImportIdentity(const IdentityKeyPair& pair) {
  if (pair.public_key.size() != kPublicKeyBytes || pair.private_key.size() != kPrivateKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("an identity key pair is ", kPublicKeyBytes, " + ", kPrivateKeyBytes,
                     " bytes, got ", pair.public_key.size(), " + ", pair.private_key.size()));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  constexpr absl::string_view kWhat = "importing the account's identity";
  // The halves must belong together: derive the public key from the
  // private one and compare.
  ec_private_key* raw_priv = nullptr;
  int rc = curve_decode_private_point(&raw_priv,
                                      reinterpret_cast<const uint8_t*>(pair.private_key.data()),
                                      pair.private_key.size(), impl_->context.get());
  SignalPtr<ec_private_key> priv = Adopt(raw_priv);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  ec_public_key* raw_derived = nullptr;
  rc = curve_generate_public_key(&raw_derived, priv.get());
  SignalPtr<ec_public_key> derived = Adopt(raw_derived);
  if (rc < 0) return impl_->Sig(rc, kWhat);
  SOTTO_ASSIGN_OR_RETURN(std::string derived_pub, impl_->SerializePublic(derived.get()));
  if (derived_pub != pair.public_key) {
    return absl::InvalidArgumentError("the identity private key does not match its public key");
  }
  Transaction txn(impl_->bridge);
  SOTTO_ASSIGN_OR_RETURN(auto existing,
                         impl_->bridge.Get(Space::kIdentity, StoreBridge::kPublicKey));
  if (existing.has_value()) return absl::AlreadyExistsError("this device already has an identity");
  // Each device has its own registration id, even with a shared identity.
  uint32_t registration_id = 0;
  rc = signal_protocol_key_helper_generate_registration_id(&registration_id, 0,
                                                           impl_->context.get());
  if (rc < 0) return impl_->Sig(rc, kWhat);
  impl_->bridge.Put(Space::kIdentity, std::string(StoreBridge::kPublicKey), pair.public_key);
  impl_->bridge.Put(Space::kIdentity, std::string(StoreBridge::kPrivateKey), pair.private_key);
  impl_->bridge.Put(Space::kMeta, std::string(StoreBridge::kRegistrationId),
                    StoreBridge::U32Key(registration_id));
  return txn.Commit();
}

absl::Status Engine::ImportTrustedIdentity(absl::string_view user, absl::string_view key,
                                           bool verified) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  if (key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the identity key of ", user, " must be ",
                                                   kPublicKeyBytes, " bytes, got ", key.size()));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  StoreBridge& b = impl_->bridge;
  // Pinned under device 1: a later device of the user is accepted when it
  // presents this same key (store_bridge.cc IsTrustedIdentity).
  b.Put(Space::kTrust, b.TrustKey(user, 1), std::string(key));
  if (verified) b.Put(Space::kVerified, b.TrustPrefix(user), std::string(key));
  return impl_->Commit(txn, absl::StrCat("pinning the identity key of ", user));
}

}  // namespace sotto::client::signal
