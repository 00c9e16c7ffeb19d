#include "client-lib/identity/identity_guard.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/profile/handle.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

absl::Status HeldError(absl::string_view peer, bool new_device) {
  return absl::FailedPreconditionError(absl::StrCat(
      peer,
      new_device ? " has a new device with an unverified identity key" : "'s safety number changed",
      "; messages are held. Compare it (`sotto safety-number ", peer,
      "`) and accept with `sotto trust ", peer, "`"));
}

}  // namespace

absl::StatusOr<bool> ResolveIdentityChange(ProfileSession& session, absl::string_view peer,
                                           const absl::Status& refusal,
                                           std::vector<IdentityNotice>& notices) {
  if (refusal.code() != absl::StatusCode::kFailedPrecondition) return refusal;
  signal::Engine& engine = session.engine();
  SOTTO_ASSIGN_OR_RETURN(auto pending, engine.PendingIdentity(peer));
  if (!pending) return refusal;
  SOTTO_ASSIGN_OR_RETURN(bool verified, engine.IsVerified(peer));
  if (!verified && !pending->new_device) {
    SOTTO_RETURN_IF_ERROR(engine.AcceptPendingIdentity(peer));
    notices.push_back(IdentityNotice{
        std::string(peer), IdentityNotice::Kind::kAccepted,
        absl::StrCat(peer,
                     "'s safety number changed (a new identity key, e.g. a reinstall); "
                     "you had not verified it, so the new key was accepted. Compare it: "
                     "`sotto safety-number ",
                     peer, "`")});
    return true;
  }
  return HeldError(peer, pending->new_device);
}

absl::StatusOr<SafetyNumberInfo> GetSafetyNumber(ProfileSession& session, absl::string_view peer) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  signal::Engine& engine = session.engine();
  SafetyNumberInfo out;
  out.peer = std::string(peer);
  std::string key;
  SOTTO_ASSIGN_OR_RETURN(auto pending, engine.PendingIdentity(peer));
  if (pending) {
    key = pending->key;
    out.changed = true;
  } else {
    SOTTO_ASSIGN_OR_RETURN(auto trusted, engine.TrustedIdentity(peer));
    if (!trusted) {
      return absl::NotFoundError(
          absl::StrCat("no identity key of '", peer, "' is known yet: exchange a message first"));
    }
    key = *trusted;
    SOTTO_ASSIGN_OR_RETURN(out.verified, engine.IsVerified(peer));
  }
  SOTTO_ASSIGN_OR_RETURN(auto number, engine.SafetyNumber(session.profile().handle(), peer, key));
  out.digits = std::move(number.displayable);
  out.scannable = std::move(number.scannable);
  return out;
}

absl::Status MarkVerified(ProfileSession& session, absl::string_view peer) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  return session.engine().MarkVerified(peer);
}

absl::Status AcceptIdentityChange(ProfileSession& session, absl::string_view peer) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  return session.engine().AcceptPendingIdentity(peer);
}

}  // namespace sotto::client
