#include "client-lib/identity/identity_guard.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/profile/handle.h"
#include "client-lib/signal/identity_commitment.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using signal::Engine;

absl::Status HeldError(absl::string_view peer, Engine::PendingKind kind) {
  absl::string_view what;
  switch (kind) {
    case Engine::PendingKind::kChanged:
      what = "'s safety number changed";
      break;
    case Engine::PendingKind::kNewDevice:
      what = " has a new device with an unverified identity key";
      break;
    case Engine::PendingKind::kNotTheInvitedKey:
      what =
          "'s identity key from the server does not match the invite you joined with (someone "
          "may be standing in the middle, or their key changed since the invite)";
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      peer, what, "; messages are held. Compare it (`sotto safety-number ", peer, "`) with ", peer,
      " in person or by video, and accept exactly that number with `sotto trust ", peer,
      " --safety-number NUMBER`"));
}

// 60 digits, or INVALID_ARGUMENT.
absl::StatusOr<std::string> SafetyNumberDigits(absl::string_view typed) {
  std::string digits;
  for (char c : typed) {
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          "a safety number is 60 digits (spaces between the groups are fine)");
    }
    digits.push_back(c);
  }
  if (digits.size() != 60) {
    return absl::InvalidArgumentError(
        absl::StrCat("a safety number is 60 digits; this one has ", digits.size()));
  }
  return digits;
}

}  // namespace

absl::Status HoldIdentityChange(ProfileSession& session, absl::string_view peer,
                                const absl::Status& refusal) {
  if (refusal.code() != absl::StatusCode::kFailedPrecondition) return refusal;
  SOTTO_ASSIGN_OR_RETURN(auto pending, session.engine().PendingIdentity(peer));
  if (!pending) return refusal;
  return HeldError(peer, pending->kind);
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

absl::Status AcceptIdentityChange(ProfileSession& session, absl::string_view peer,
                                  absl::string_view safety_number) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
  SOTTO_ASSIGN_OR_RETURN(std::string shown, SafetyNumberDigits(safety_number));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  Engine& engine = session.engine();
  SOTTO_ASSIGN_OR_RETURN(auto pending, engine.PendingIdentity(peer));
  if (!pending) {
    return absl::FailedPreconditionError(
        absl::StrCat(peer, "'s identity key has not changed: there is nothing to accept"));
  }
  SOTTO_ASSIGN_OR_RETURN(auto number,
                         engine.SafetyNumber(session.profile().handle(), peer, pending->key));
  if (number.displayable != shown) {
    return absl::FailedPreconditionError(absl::StrCat(
        "that is not the safety number of ", peer,
        "'s pending identity key (it was mistyped, or another key was swapped in since it was "
        "shown); nothing was accepted. Compare again: `sotto safety-number ",
        peer, "`"));
  }
  // The same key under the same lock: nothing can be swapped in between.
  return engine.AcceptPendingIdentity(peer, pending->key);
}

absl::StatusOr<std::string> CommitInvite(ProfileSession& session, absl::string_view server_code) {
  SOTTO_ASSIGN_OR_RETURN(InviteCode code, ParseInviteCode(server_code));
  if (code.has_key_commitment()) {
    return absl::InternalError("the server's invite code already has a key commitment");
  }
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  SOTTO_ASSIGN_OR_RETURN(std::string key, session.engine().IdentityPublicKey());
  code.key_commitment =
      signal::IdentityCommitment(code.server_code, session.profile().handle(), key);
  return FormatInviteCode(code);
}

absl::Status ExpectInvitedIdentity(ProfileSession& session, absl::string_view therapist,
                                   const InviteCode& invite) {
  if (!invite.has_key_commitment()) return absl::OkStatus();
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  return session.engine().ExpectIdentity(therapist, invite.server_code, invite.key_commitment);
}

}  // namespace sotto::client
