// Other users' identity keys: trust on first use (bound to an invite's
// commitment where there is one), the pending identity recorded when a key
// is refused, accepting exactly the key shown, verification, and the safety
// number two people compare.

#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/engine_impl.h"
#include "client-lib/signal/identity_commitment.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/status.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {

using engine_internal::ToString;
using engine_internal::Transaction;
using engine_internal::ValidateAddress;
using storage::Space;

absl::Status Engine::Impl::Untrusted(const Address& address, absl::string_view what,
                                     std::optional<std::string> offered) {
  bridge.Abort();
  auto known = bridge.Get(Space::kTrust, bridge.TrustKey(address.user, address.device_id));
  if (!known.ok()) return LocalStoreError(what, known.status());
  auto any_known = bridge.Scan(Space::kTrust, bridge.TrustPrefix(address.user));
  if (!any_known.ok()) return LocalStoreError(what, any_known.status());
  // No key of the user is trusted, yet the key was refused: only an invite's
  // commitment does that.
  const PendingKind kind = known->has_value()   ? PendingKind::kChanged
                           : any_known->empty() ? PendingKind::kNotTheInvitedKey
                                                : PendingKind::kNewDevice;
  if (offered.has_value()) {
    bridge.Put(Space::kPendingIdentity, bridge.TrustPrefix(address.user),
               StoreBridge::U32Key(address.device_id) + std::string(1, static_cast<char>(kind)) +
                   *offered);
    if (absl::Status s = bridge.Commit(); !s.ok()) return LocalStoreError(what, s);
  }
  switch (kind) {
    case PendingKind::kChanged:
      return FromSignal(SG_ERR_UNTRUSTED_IDENTITY, what);
    case PendingKind::kNotTheInvitedKey:
      return absl::FailedPreconditionError(absl::StrCat(
          "the identity key the server gave for ", address.user,
          " does not match the invite you joined with: someone may be standing in the "
          "middle, or ",
          address.user, "'s key changed since the invite. Nothing is sent to or accepted from ",
          address.user, " until you compare safety numbers in person or by video (", what, ")"));
    case PendingKind::kNewDevice:
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      address.user, " has a new device with an unverified identity key; it may not be theirs, ",
      "so nothing is sent to or accepted from it until it is verified (", what, ")"));
}

absl::Status Engine::ExpectIdentity(absl::string_view user, absl::string_view salt,
                                    absl::string_view commitment) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  if (salt.empty() || commitment.size() != kCommitmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an identity commitment for ", user, " needs a salt and ", kCommitmentBytes, " bytes"));
  }
  const std::string what = absl::StrCat("recording the invite's key commitment for ", user);
  SOTTO_ASSIGN_OR_RETURN(auto trusted, TrustedIdentity(user));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  StoreBridge& b = impl_->bridge;
  const std::string record = CommitmentRecord(salt, commitment);
  b.Put(Space::kExpectedIdentity, b.TrustPrefix(user), record);
  if (trusted.has_value()) {
    // Met before (e.g. in a care team): the invite checks the key we have.
    if (!MatchesCommitmentRecord(record, user, *trusted)) {
      b.Delete(Space::kVerified, b.TrustPrefix(user));
      SOTTO_RETURN_IF_ERROR(impl_->Commit(txn, what));
      return absl::FailedPreconditionError(absl::StrCat(
          "the invite's key fingerprint does not match the identity key you already have for ",
          user, ": compare safety numbers with ", user, " in person or by video"));
    }
    b.Put(Space::kVerified, b.TrustPrefix(user), *trusted);
  }
  return impl_->Commit(txn, what);
}

absl::StatusOr<std::optional<std::string>> Engine::TrustedIdentity(const Address& address) {
  SOTTO_RETURN_IF_ERROR(ValidateAddress(address));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  return impl_->bridge.Get(Space::kTrust, impl_->bridge.TrustKey(address.user, address.device_id));
}

absl::StatusOr<std::optional<std::string>> Engine::TrustedIdentity(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto entries,
                         impl_->bridge.Scan(Space::kTrust, impl_->bridge.TrustPrefix(user)));
  if (entries.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(entries.front().value));
}

absl::StatusOr<std::optional<Engine::PendingKey>> Engine::PendingIdentity(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(
      auto raw, impl_->bridge.Get(Space::kPendingIdentity, impl_->bridge.TrustPrefix(user)));
  if (!raw.has_value()) return std::optional<PendingKey>();
  if (raw->size() <= 5) return absl::DataLossError("pending identity record is damaged");
  const auto kind = static_cast<PendingKind>((*raw)[4]);
  if (kind != PendingKind::kChanged && kind != PendingKind::kNewDevice &&
      kind != PendingKind::kNotTheInvitedKey) {
    return absl::DataLossError("pending identity record is damaged");
  }
  return std::optional<PendingKey>(PendingKey{StoreBridge::ReadU32(*raw), raw->substr(5),
                                              kind == PendingKind::kNewDevice, kind});
}

absl::Status Engine::AcceptPendingIdentity(absl::string_view user, absl::string_view expected_key) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  const std::string what = absl::StrCat("accepting the new identity key of ", user);
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  StoreBridge& b = impl_->bridge;
  const std::string blinded = b.TrustPrefix(user);
  SOTTO_ASSIGN_OR_RETURN(auto pending, b.Get(Space::kPendingIdentity, blinded));
  if (!pending.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(user, "'s identity key has not changed: there is nothing to accept"));
  }
  if (pending->size() <= 5) return absl::DataLossError("pending identity record is damaged");
  const uint32_t device = StoreBridge::ReadU32(*pending);
  const std::string key = pending->substr(5);
  if (key != expected_key) {
    // Another key was swapped in after the one the user compared.
    return absl::FailedPreconditionError(absl::StrCat(
        user,
        "'s pending identity key changed since its safety number was shown; nothing was "
        "accepted. Compare the new number first"));
  }
  SOTTO_ASSIGN_OR_RETURN(auto trusted, b.Scan(Space::kTrust, blinded));
  for (auto& e : trusted) b.Delete(Space::kTrust, std::move(e.key));
  SOTTO_ASSIGN_OR_RETURN(auto sessions, b.Scan(Space::kSession, b.SessionPrefix(user)));
  for (auto& e : sessions) b.Delete(Space::kSession, std::move(e.key));
  b.Delete(Space::kVerified, blinded);
  b.Delete(Space::kPendingIdentity, blinded);
  b.Put(Space::kTrust, b.TrustKey(user, device), key);
  return impl_->Commit(txn, what);
}

absl::Status Engine::MarkVerified(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  SOTTO_ASSIGN_OR_RETURN(auto pending, PendingIdentity(user));
  if (pending.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(user,
                     "'s identity key changed and the new key is not accepted yet: compare the new "
                     "safety number and accept it first"));
  }
  SOTTO_ASSIGN_OR_RETURN(auto trusted, TrustedIdentity(user));
  if (!trusted.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no identity key of ", user, " is known yet: exchange a message first"));
  }
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Transaction txn(impl_->bridge);
  impl_->bridge.Put(Space::kVerified, impl_->bridge.TrustPrefix(user), *trusted);
  return impl_->Commit(txn, absl::StrCat("marking ", user, " verified"));
}

absl::StatusOr<bool> Engine::IsVerified(absl::string_view user) {
  if (user.empty()) return absl::InvalidArgumentError("empty user");
  SOTTO_ASSIGN_OR_RETURN(auto trusted, TrustedIdentity(user));
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(auto verified,
                         impl_->bridge.Get(Space::kVerified, impl_->bridge.TrustPrefix(user)));
  return trusted.has_value() && verified.has_value() && *trusted == *verified;
}

absl::StatusOr<SafetyNumberData> Engine::SafetyNumber(absl::string_view local_user,
                                                      absl::string_view remote_user,
                                                      absl::string_view remote_identity_key) {
  const std::string what = absl::StrCat("computing the safety number with ", remote_user);
  SOTTO_ASSIGN_OR_RETURN(std::string local_key, IdentityPublicKey());
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> local, impl_->DecodePoint(local_key, what));
  SOTTO_ASSIGN_OR_RETURN(SignalPtr<ec_public_key> remote,
                         impl_->DecodePoint(remote_identity_key, what));
  fingerprint_generator* raw_generator = nullptr;
  int rc = fingerprint_generator_create(&raw_generator, kFingerprintIterations,
                                        kScannableFingerprintVersion, impl_->context.get());
  SignalPtr<fingerprint_generator> generator = Adopt(raw_generator);
  if (rc < 0) return impl_->Sig(rc, what);
  const std::string local_id(local_user), remote_id(remote_user);
  fingerprint* raw_fingerprint = nullptr;
  rc = fingerprint_generator_create_for(generator.get(), local_id.c_str(), local.get(),
                                        remote_id.c_str(), remote.get(), &raw_fingerprint);
  SignalPtr<fingerprint> fp = Adopt(raw_fingerprint);
  if (rc < 0) return impl_->Sig(rc, what);
  SafetyNumberData out;
  out.displayable = displayable_fingerprint_text(fingerprint_get_displayable(fp.get()));
  signal_buffer* raw_scannable = nullptr;
  rc = scannable_fingerprint_serialize(&raw_scannable, fingerprint_get_scannable(fp.get()));
  SignalPtr<signal_buffer> scannable = Adopt(raw_scannable);
  if (rc < 0) return impl_->Sig(rc, what);
  out.scannable = ToString(scannable.get());
  return out;
}

}  // namespace sotto::client::signal
