#include "client-lib/devices/join.h"

#include <openssl/rand.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client-lib/devices/history_transfer.h"
#include "client-lib/devices/provisioning.h"
#include "client-lib/history/history_book.h"
#include "client-lib/keys/key_maintenance.h"
#include "client-lib/profile/handle.h"
#include "client-lib/profile/registration.h"
#include "client-lib/transport/address_policy.h"
#include "sotto/client/provisioning.pb.h"
#include "sotto/status_macros.h"

namespace sotto::client::devices {
namespace {

constexpr uint32_t kProvisioningVersion = 1;
constexpr size_t kLinkTokenBytes = 32;
constexpr size_t kDeviceSecretBytes = 32;
constexpr size_t kMaxDeviceNameBytes = 64;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

// A ProvisioningMessage whose secrets are wiped when it goes.
struct WipedMessage {
  ProvisioningMessage message;
  ~WipedMessage() {
    Wipe(*message.mutable_identity_private_key());
    Wipe(*message.mutable_link_token());
    Wipe(*message.mutable_history()->mutable_key());
  }
};

absl::Status ValidateDeviceName(absl::string_view name) {
  if (name.size() > kMaxDeviceNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the device name must be at most ", kMaxDeviceNameBytes, " bytes, got ", name.size()));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("the device name must not contain control characters");
    }
  }
  return absl::OkStatus();
}

// Fills the message the existing device seals: identity, token, contacts.
absl::Status FillProvisioning(ProfileSession& s, const std::vector<std::string>& contacts,
                              const std::string& link_token,
                              const std::optional<HistoryTicket>& history,
                              ProvisioningMessage& m) {
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  SOTTO_ASSIGN_OR_RETURN(signal::Engine::IdentityKeyPair pair, s.engine().ExportIdentityKeyPair());
  m.set_version(kProvisioningVersion);
  m.set_handle(s.profile().handle());
  m.set_role(s.profile().role());
  m.set_identity_public_key(pair.public_key);
  m.set_identity_private_key(pair.private_key);
  Wipe(pair.private_key);
  m.set_link_token(link_token);
  m.set_linked_by_device(s.profile().device_id());
  for (const std::string& user : contacts) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> key, s.engine().TrustedIdentity(user));
    if (!key) continue;
    SOTTO_ASSIGN_OR_RETURN(bool verified, s.engine().IsVerified(user));
    ProvisionedContact* c = m.add_contacts();
    c->set_handle(user);
    c->set_identity_key(*key);
    c->set_verified(verified);
  }
  if (history) {
    m.mutable_history()->set_transfer_id(history->transfer_id);
    m.mutable_history()->set_key(history->key);
  }
  return absl::OkStatus();
}

// How long a poll waits after RESOURCE_EXHAUSTED (the server's rate limit):
// twice the last wait, from the poll interval up to kMaxPollBackoff. The
// limit means "slow down", not "linking failed".
constexpr absl::Duration kMaxPollBackoff = absl::Seconds(30);
absl::Duration Backoff(absl::Duration last, absl::Duration interval) {
  return std::min(std::max(last * 2, interval), kMaxPollBackoff);
}

// Cancels the slot on the server unless released: the code dies on every
// error after CreateLinkSlot, not only on the ones that remember to.
class SlotGuard {
 public:
  SlotGuard(transport::Connection& connection, std::string slot_id)
      : connection_(connection), slot_id_(std::move(slot_id)) {}
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  ~SlotGuard() {
    if (!released_) connection_.CancelLinkSlot(slot_id_).IgnoreError();
  }
  void Release() { released_ = true; }

 private:
  transport::Connection& connection_;
  const std::string slot_id_;
  bool released_ = false;
};

// Polls until the new device posted its key; nullopt-free: DEADLINE_EXCEEDED
// when the slot expired, CANCELLED when asked.
absl::StatusOr<v1::GetLinkRequestResponse> AwaitRequest(ProfileSession& s,
                                                        const std::string& slot_id,
                                                        const LinkDeviceOptions& options) {
  absl::Duration wait = options.poll_interval;
  while (true) {
    if (options.cancelled && options.cancelled()) {
      return absl::CancelledError("linking cancelled; the code no longer works");
    }
    absl::StatusOr<v1::GetLinkRequestResponse> got = s.connection().GetLinkRequest(slot_id);
    if (!got.ok() && got.status().code() == absl::StatusCode::kNotFound) {
      return absl::DeadlineExceededError("the link code expired before a new device used it");
    }
    if (!got.ok() && got.status().code() == absl::StatusCode::kResourceExhausted) {
      wait = Backoff(wait, options.poll_interval);
    } else if (!got.ok() || got->posted()) {
      return got;
    } else {
      wait = options.poll_interval;
    }
    absl::SleepFor(wait);
  }
}

}  // namespace

absl::Status SendProvisioning(ProfileSession& s, const std::vector<std::string>& contacts,
                              const LinkDeviceOptions& options) {
  if (!options.on_code) return absl::InvalidArgumentError("LinkDeviceOptions::on_code is required");
  SOTTO_RETURN_IF_ERROR(s.Check());
  SOTTO_ASSIGN_OR_RETURN(v1::CreateLinkSlotResponse slot, s.connection().CreateLinkSlot());
  SlotGuard guard(s.connection(), slot.slot_id());
  LinkCode code{slot.slot_id(), RandomBytes(kLinkSecretBytes)};
  options.on_code(FormatLinkCode(code), absl::FromUnixMillis(slot.expires_at_ms()));
  if (options.on_progress) options.on_progress(LinkStage::kWaitingForNewDevice);
  SOTTO_ASSIGN_OR_RETURN(v1::GetLinkRequestResponse request,
                         AwaitRequest(s, slot.slot_id(), options));
  if (!CheckRequestMac(code, request.ephemeral_public_key(), request.mac())) {
    Wipe(code.secret);
    return absl::PermissionDeniedError(
        "the answer to the link code was not made with the code's secret: the server or "
        "someone else substituted it. Nothing was sent and the code no longer works");
  }
  // The history goes up only now: a new device holding the code is
  // waiting, so the archive is not made for a code nobody uses.
  std::optional<HistoryTicket> history = options.history;
  if (options.include_history) {
    absl::StatusOr<HistoryTicket> sent = SendHistory(s, options.on_history_progress);
    if (!sent.ok()) {
      Wipe(code.secret);
      return sent.status();
    }
    history = std::move(*sent);
  }
  if (options.on_progress) options.on_progress(LinkStage::kSendingKeys);
  WipedMessage plain;
  absl::Status filled = FillProvisioning(s, contacts, slot.link_token(), history, plain.message);
  if (history) Wipe(history->key);
  Wipe(*slot.mutable_link_token());
  if (!filled.ok()) {
    Wipe(code.secret);
    return filled;
  }
  std::string bytes = plain.message.SerializeAsString();
  absl::StatusOr<std::string> sealed =
      SealProvisioning(code, request.ephemeral_public_key(), bytes);
  Wipe(bytes);
  Wipe(code.secret);
  if (!sealed.ok()) return sealed.status();
  if (sealed->size() > kMaxProvisioningBytes) {
    // Said before the server refuses it, with the reason a person can act on.
    return absl::ResourceExhaustedError(absl::StrCat(
        "this account's keys and ", contacts.size(), " contacts make a provisioning message of ",
        sealed->size(), " bytes, over the ", kMaxProvisioningBytes,
        "-byte limit of the link relay; end links you no longer need and link again"));
  }
  SOTTO_RETURN_IF_ERROR(s.connection().PutLinkResponse(slot.slot_id(), *sealed));
  // Answered: the new device fetches the answer and redeems the token.
  guard.Release();
  if (options.on_progress) options.on_progress(LinkStage::kSent);
  return absl::OkStatus();
}

namespace {

// Posts our key to the slot and waits for the sealed answer.
absl::StatusOr<std::string> FetchSealed(transport::Connection& connection, const LinkCode& code,
                                        const EphemeralKey& ours, const JoinOptions& options) {
  v1::PostLinkRequestRequest post;
  post.set_slot_id(code.slot_id);
  post.set_ephemeral_public_key(ours.public_key());
  post.set_mac(RequestMac(code, ours.public_key()));
  if (absl::Status posted = connection.PostLinkRequest(post); !posted.ok()) {
    if (posted.code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          "the link code is unknown, used or expired: show a new one (sotto link-device on "
          "your other device)");
    }
    if (posted.code() == absl::StatusCode::kFailedPrecondition) {
      // NOT_FOUND as for a used code (client.h), but not worded as one:
      // someone else holding the code is worth knowing about.
      return absl::NotFoundError(
          "another device has already answered this link code; if it was not yours, stop "
          "linking on your other device, check its `sotto devices`, and show a new code");
    }
    return posted;
  }
  const absl::Time give_up = absl::Now() + options.wait_at_most;
  absl::Duration wait = options.poll_interval;
  while (true) {
    absl::StatusOr<v1::FetchLinkResponseResponse> got = connection.FetchLinkResponse(code.slot_id);
    if (got.ok() && got->ready()) return std::move(*got->mutable_ciphertext());
    if (!got.ok() && got.status().code() != absl::StatusCode::kResourceExhausted) {
      return got.status();
    }
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError("the other device did not answer the link code in time");
    }
    // Rate-limited (the relay's per-address limit): slow down, keep waiting.
    wait = got.ok() ? options.poll_interval : Backoff(wait, options.poll_interval);
    absl::SleepFor(std::min(wait, std::max(give_up - absl::Now(), absl::ZeroDuration())));
  }
}

absl::StatusOr<WipedMessage> OpenMessage(const LinkCode& code, const EphemeralKey& ours,
                                         absl::string_view sealed) {
  SOTTO_ASSIGN_OR_RETURN(std::string bytes, OpenProvisioning(code, ours, sealed));
  WipedMessage out;
  const bool parsed = out.message.ParseFromString(bytes);
  Wipe(bytes);
  if (!parsed) return absl::DataLossError("the provisioning message is malformed");
  const ProvisioningMessage& m = out.message;
  if (m.version() != kProvisioningVersion) {
    return absl::InvalidArgumentError(absl::StrCat("the provisioning message has version ",
                                                   m.version(), "; update sotto on both devices"));
  }
  SOTTO_RETURN_IF_ERROR(ValidateHandle(m.handle()));
  if (m.link_token().size() != kLinkTokenBytes) {
    return absl::DataLossError("the provisioning message carries no valid link token");
  }
  if (m.role() != static_cast<int>(Role::kClient) &&
      m.role() != static_cast<int>(Role::kTherapist)) {
    return absl::DataLossError(absl::StrCat("the provisioning message names role ", m.role()));
  }
  return out;
}

// The new device's keys under the account's identity, and the contacts'
// pins; returns the Link request.
absl::StatusOr<v1::LinkRequest> MakeKeys(const ProvisioningMessage& m, signal::Engine& engine,
                                         const Profile& profile, const JoinOptions& options,
                                         int64_t now_ms, int& contacts) {
  signal::Engine::IdentityKeyPair pair{m.identity_public_key(), m.identity_private_key()};
  absl::Status imported = engine.ImportIdentity(pair);
  Wipe(pair.private_key);
  SOTTO_RETURN_IF_ERROR(imported);
  SOTTO_ASSIGN_OR_RETURN(auto signed_prekey, engine.RotateSignedPreKey(now_ms));
  SOTTO_ASSIGN_OR_RETURN(auto prekeys, engine.GeneratePreKeys(kPreKeyStock));
  SOTTO_ASSIGN_OR_RETURN(uint32_t registration_id, engine.RegistrationId());
  for (const ProvisionedContact& c : m.contacts()) {
    if (c.handle() == m.handle() || !ValidateHandle(c.handle()).ok()) continue;
    SOTTO_RETURN_IF_ERROR(engine.ImportTrustedIdentity(c.handle(), c.identity_key(), c.verified()));
    ++contacts;
  }
  v1::LinkRequest request;
  request.set_link_token(m.link_token());
  request.set_device_secret(profile.device_secret());
  request.set_registration_id(registration_id);
  request.set_name(options.device_name);
  request.mutable_keys()->set_identity_key(m.identity_public_key());
  FillSignedPreKey(signed_prekey, request.mutable_keys()->mutable_signed_prekey());
  FillPreKeys(prekeys, request.mutable_keys());
  return request;
}

}  // namespace

absl::StatusOr<Joined> JoinProfile(const JoinOptions& options,
                                   std::unique_ptr<storage::LocalStore> store) {
  SOTTO_ASSIGN_OR_RETURN(LinkCode code, ParseLinkCode(options.code));
  SOTTO_RETURN_IF_ERROR(ValidateDeviceName(options.device_name));
  const transport::TlsConfig tls{options.tls_ca_pem, options.tls_system_roots, ""};
  if (options.server_address.empty()) {
    return absl::InvalidArgumentError("a server address (host:port) is required");
  }
  SOTTO_RETURN_IF_ERROR(transport::CheckServerAddress(options.server_address, tls.enabled()));
  std::shared_ptr<const Clock> clock =
      options.clock ? options.clock : std::make_shared<SystemClock>();
  transport::Connection connection(options.server_address, tls);
  EphemeralKey ours;
  SOTTO_ASSIGN_OR_RETURN(std::string sealed, FetchSealed(connection, code, ours, options));
  SOTTO_ASSIGN_OR_RETURN(WipedMessage opened, OpenMessage(code, ours, sealed));
  Wipe(code.secret);
  const ProvisioningMessage& m = opened.message;

  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<signal::Engine> engine, signal::Engine::Open(store.get()));
  Profile profile;
  profile.set_handle(m.handle());
  profile.set_role(m.role());
  profile.set_server_address(options.server_address);
  profile.set_device_secret(RandomBytes(kDeviceSecretBytes));
  profile.set_tls_ca_pem(options.tls_ca_pem);
  profile.set_tls_system_roots(options.tls_system_roots);
  Joined joined;
  SOTTO_ASSIGN_OR_RETURN(
      v1::LinkRequest request,
      MakeKeys(m, *engine, profile, options, absl::ToUnixMillis(clock->Now()), joined.contacts));
  // The relay's rate limit refuses before the server looks at the token,
  // so a rate-limited Link is simply sent again, more slowly.
  absl::StatusOr<v1::LinkResponse> linked = connection.Link(request);
  const absl::Time give_up = absl::Now() + options.wait_at_most;
  for (absl::Duration wait = options.poll_interval;
       !linked.ok() && linked.status().code() == absl::StatusCode::kResourceExhausted &&
       absl::Now() < give_up;) {
    wait = Backoff(wait, options.poll_interval);
    absl::SleepFor(wait);
    linked = connection.Link(request);
  }
  Wipe(*request.mutable_link_token());
  Wipe(*request.mutable_device_secret());
  if (!linked.ok()) return linked.status();
  if (linked->handle() != m.handle()) {
    return absl::InternalError(absl::StrCat("the server linked this device to ", linked->handle(),
                                            ", not to ", m.handle()));
  }
  profile.set_device_id(linked->device_id());
  if (absl::Status saved = store->Apply(
          {ProfileWrite(profile),
           storage::Write{storage::Space::kMeta, history::kMessageIndexReadyKey, "1"}});
      !saved.ok()) {
    return absl::Status(
        saved.code(),
        absl::StrCat("the server linked this device (", m.handle(), " device ", linked->device_id(),
                     ") but saving the profile failed: ", saved.message(),
                     ". Remove the device from another one "
                     "(`sotto remove-device ",
                     linked->device_id(), "`)"));
  }
  if (m.has_history() && !m.history().transfer_id().empty()) {
    joined.history = HistoryTicket{m.history().transfer_id(), m.history().key()};
  }
  joined.session =
      std::make_unique<ProfileSession>(std::move(store), std::move(engine), std::move(profile),
                                       options.server_address, tls, std::move(clock));
  return joined;
}

}  // namespace sotto::client::devices
