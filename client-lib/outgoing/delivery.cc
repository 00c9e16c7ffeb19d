#include "client-lib/outgoing/delivery.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client-lib/identity/identity_guard.h"
#include "client-lib/session_setup.h"
#include "client-lib/storage/deferred_sync.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

// How often a send rebuilds its device list after a DeviceMismatch before
// giving up (a device list that keeps changing is not something to loop on).
constexpr int kSendRepairAttempts = 3;

using signal::Address;

// Under the lock: stops at a contact whose identity change is held (a key
// refused earlier, e.g. on a held message), and returns the devices of `to`
// that we have sessions with (none: sessions must be started).
absl::StatusOr<std::vector<uint32_t>> SessionDevicesToSend(ProfileSession& session,
                                                           const std::string& to)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  SOTTO_ASSIGN_OR_RETURN(auto pending, session.engine().PendingIdentity(to));
  // A first key that did not match the invite is not a change to decide on:
  // the invite decides, so the server is asked again (below) and only the
  // invited key gets in.
  if (pending && pending->kind != signal::Engine::PendingKind::kNotTheInvitedKey) {
    SOTTO_RETURN_IF_ERROR(
        HoldIdentityChange(session, to, absl::FailedPreconditionError("identity changed")));
  }
  return session.engine().SessionDevices(to);
}

// Starts sessions with every device of `to` from bundles fetched without the
// lock (unless another send started them meanwhile).
absl::Status StartAllSessions(ProfileSession& session, const std::string& to)
    ABSL_LOCKS_EXCLUDED(session.mu) {
  SOTTO_ASSIGN_OR_RETURN(v1::GetBundleResponse bundles, session.connection().GetBundle(to));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices, session.engine().SessionDevices(to));
  if (!devices.empty()) return absl::OkStatus();
  absl::Status started = StartSessions(session.engine(), to, [&] { return bundles; }, /*only=*/{});
  if (!started.ok()) return HoldIdentityChange(session, to, started);
  return absl::OkStatus();
}

// Under the lock: one ciphertext per device in `devices` (those of `to` we
// have sessions with, which the caller has just read).
absl::StatusOr<v1::SendRequest> EncryptFor(ProfileSession& session, const Delivery& delivery,
                                           const std::vector<uint32_t>& devices)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  const std::string& to = delivery.header.recipient;
  if (devices.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("'", to, "' has no devices to send to"));
  }
  signal::Engine& engine = session.engine();
  std::vector<transport::EncryptedCopy> copies;
  for (uint32_t device : devices) {
    Address address{to, device};
    SOTTO_ASSIGN_OR_RETURN(auto ciphertext, engine.Encrypt(address, delivery.plaintext));
    SOTTO_ASSIGN_OR_RETURN(uint32_t registration_id, engine.RemoteRegistrationId(address));
    copies.push_back(transport::EncryptedCopy{device, registration_id,
                                              ciphertext.type == signal::MessageType::kPreKey,
                                              std::move(ciphertext.body)});
  }
  v1::SendRequest request = transport::BuildSendRequest(delivery.header, std::move(copies));
  if (delivery.on_encrypted) SOTTO_RETURN_IF_ERROR(delivery.on_encrypted(request));
  return request;
}

// Under the lock: one ciphertext per device of `to`.
absl::StatusOr<v1::SendRequest> Encrypt(ProfileSession& session, const Delivery& delivery)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices,
                         session.engine().SessionDevices(delivery.header.recipient));
  return EncryptFor(session, delivery, devices);
}

// Applies the server's DeviceMismatch, with bundles fetched without the lock.
absl::Status Repair(ProfileSession& session, const std::string& to,
                    const v1::DeviceMismatch& mismatch) ABSL_LOCKS_EXCLUDED(session.mu) {
  std::optional<absl::StatusOr<v1::GetBundleResponse>> bundles;
  if (mismatch.stale_devices_size() > 0 || mismatch.missing_devices_size() > 0) {
    bundles = session.connection().GetBundle(to);
  }
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  absl::Status repaired = RepairSessions(session.engine(), to, mismatch, [&] {
    return bundles ? *bundles : absl::InternalError("no bundles were fetched");
  });
  if (repaired.ok()) return repaired;
  return HoldIdentityChange(session, to, repaired);
}

}  // namespace

absl::StatusOr<std::optional<v1::SendRequest>> EncryptWithExistingSessions(
    ProfileSession& session, const Delivery& delivery) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices,
                         SessionDevicesToSend(session, delivery.header.recipient));
  if (devices.empty()) return std::nullopt;
  return EncryptFor(session, delivery, devices);
}

absl::StatusOr<v1::SendResponse> Deliver(ProfileSession& session, Delivery delivery) {
  const std::string to = delivery.header.recipient;
  std::optional<v1::SendRequest> request = std::move(delivery.prepared);
  for (int attempt = 0; attempt < kSendRepairAttempts; ++attempt) {
    if (!request) {
      bool have = false;
      {
        absl::MutexLock lock(&session.mu);
        SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices, SessionDevicesToSend(session, to));
        have = !devices.empty();
      }
      if (!have) SOTTO_RETURN_IF_ERROR(StartAllSessions(session, to));
      absl::MutexLock lock(&session.mu);
      SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
      // The new session state and the recorded request, with whatever
      // waited unsynced before them (the message's own record), on disk
      // before the ciphertext leaves: a crash then cannot make us reuse a
      // chain key, nor lose what was sent. Through the commit queue, so
      // that sends from several threads share one disk sync.
      storage::DeferredSync durable(session.store());
      SOTTO_ASSIGN_OR_RETURN(request, Encrypt(session, delivery));
      SOTTO_RETURN_IF_ERROR(durable.Release());
      SOTTO_RETURN_IF_ERROR(session.CommitStore());
    }
    SOTTO_ASSIGN_OR_RETURN(transport::SendOutcome outcome, session.connection().Send(*request));
    if (outcome.response) return std::move(*outcome.response);
    SOTTO_RETURN_IF_ERROR(Repair(session, to, *outcome.mismatch));
    request.reset();
  }
  return absl::AbortedError(
      absl::StrCat("the devices of '", to, "' kept changing while sending; try again"));
}

bool RefusedForGood(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

}  // namespace sotto::client
