#include "sotto/client.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/delivery_state.h"
#include "client-lib/history/outbox.h"
#include "client-lib/history/reply.h"
#include "client-lib/session_setup.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/storage/local_store.h"
#include "client-lib/transport/address_policy.h"
#include "client-lib/transport/connection.h"
#include "client-lib/transport/crl.h"
#include "sotto/client/records.pb.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

using client::signal::Address;
using client::signal::Engine;
using client::storage::LocalStore;
using client::storage::Space;
using client::storage::Write;
using client::transport::Connection;
using client::transport::TlsConfig;
using v1::content::Content;
using v1::content::Receipt;

constexpr char kProfileKey[] = "profile";
constexpr char kNextLocalSeqKey[] = "next_local_seq";
// Present once every history record has its kMessageIndex entry (profiles
// made before the index existed are indexed when first opened).
constexpr char kMessageIndexReadyKey[] = "message_index_ready";
// Upload this many one-time prekeys at registration and top the server's
// stock back up to it when it falls below kPreKeyRefillBelow.
constexpr uint32_t kPreKeyStock = 100;
constexpr uint32_t kPreKeyRefillBelow = 25;
// Signal's own clients rotate the signed prekey every few days; a week bounds
// how long a stolen signed prekey stays useful.
constexpr absl::Duration kSignedPreKeyLifetime = absl::Hours(24 * 7);
constexpr uint32_t kFetchBatch = 100;
// How often SendText rebuilds its device list after a DeviceMismatch before
// giving up (a device list that keeps changing is not something to loop on).
constexpr int kSendRepairAttempts = 3;
constexpr size_t kPreviewChars = 80;
constexpr size_t kMessageIdBytes = client::content::kMessageIdBytes;
// Stored (as a text) in place of a message that decrypted but that this
// version cannot show: content that does not decode, or a body of a kind it
// does not know (PROTOCOL.md: receivers tell the user to update).
constexpr char kUnreadableText[] = "[This message could not be read by this version of Sotto]";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all; there is
  // nothing sensible to do but stop.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

absl::Status ValidateHandle(absl::string_view handle) {
  bool ok = handle.size() >= 3 && handle.size() <= 32 && handle[0] >= 'a' &&
            handle[0] <= 'z';
  for (char c : handle) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "handle '", handle,
        "' is invalid: use 3 to 32 of a-z, 0-9, '_' and '-', starting with a letter"));
  }
  return absl::OkStatus();
}

std::string Preview(const std::string& text) {
  if (text.size() <= kPreviewChars) return text;
  size_t cut = kPreviewChars;
  // Don't cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

// What the conversation list shows of a message.
std::string PreviewOf(const Content& content) {
  if (content.has_letter()) return Preview(content.letter().subject());
  return Preview(content.text().body());
}

Message ToMessage(const client::StoredMessage& stored, int64_t now_ms) {
  Message m;
  m.id = absl::BytesToHexString(stored.message_id());
  m.peer = stored.peer();
  m.outgoing = stored.outgoing();
  m.server_time_ms = stored.server_time_ms();
  m.sent_at_ms = stored.content().sent_at_ms();
  const Content& content = stored.content();
  if (content.has_letter()) {
    m.kind = MessageKind::kLetter;
    m.subject = content.letter().subject();
    m.text = content.letter().body();
    m.in_reply_to = absl::BytesToHexString(content.letter().in_reply_to());
    // A new thread may leave thread_id empty: the letter is its own thread.
    m.thread_id = content.letter().thread_id().empty()
                      ? m.id
                      : absl::BytesToHexString(content.letter().thread_id());
  } else {
    m.kind = MessageKind::kText;
    m.text = content.text().body();
  }
  m.state = stored.outgoing()
                ? client::history::ReportedState(client::history::StoredState(stored.state()),
                                                 stored.server_time_ms(), now_ms)
                : DeliveryState::kDelivered;
  return m;
}

std::optional<ReplyExpectation> ToExpectation(const v1::SendResponse& response) {
  if (!response.has_expectation()) return std::nullopt;
  const v1::ReplyExpectation& in = response.expectation();
  if (in.due_ms() <= 0 && in.emergency_note().empty()) return std::nullopt;
  ReplyExpectation out;
  out.due_ms = in.due_ms();
  out.reply_window_minutes = in.reply_window_minutes();
  out.away_note = in.away_note();
  out.away_until_ms = in.away_until_ms();
  out.emergency_note = in.emergency_note();
  return out;
}

v1::ResponsePolicy ToProto(const ResponsePolicy& in) {
  v1::ResponsePolicy out;
  out.set_time_zone(in.time_zone);
  for (int day : in.working_days) out.add_working_days(static_cast<uint32_t>(day));
  out.set_day_start_minute(static_cast<uint32_t>(in.day_start_minute));
  out.set_day_end_minute(static_cast<uint32_t>(in.day_end_minute));
  out.set_reply_window_minutes(static_cast<uint32_t>(in.reply_window_minutes));
  out.set_away_from_ms(in.away_from_ms);
  out.set_away_until_ms(in.away_until_ms);
  out.set_away_note(in.away_note);
  return out;
}

ResponsePolicy FromProto(const v1::ResponsePolicy& in) {
  ResponsePolicy out;
  out.time_zone = in.time_zone();
  out.working_days.assign(in.working_days().begin(), in.working_days().end());
  out.day_start_minute = static_cast<int>(in.day_start_minute());
  out.day_end_minute = static_cast<int>(in.day_end_minute());
  out.reply_window_minutes = static_cast<int>(in.reply_window_minutes());
  out.away_from_ms = in.away_from_ms();
  out.away_until_ms = in.away_until_ms();
  out.away_note = in.away_note();
  return out;
}

// The server's minimum (care.proto, ResponsePolicy), checked before the call
// so that a typo is reported without a round trip. The server also checks
// that the time zone is a real IANA name.
absl::Status ValidatePolicy(const ResponsePolicy& policy) {
  if (policy.time_zone.empty()) {
    return absl::InvalidArgumentError("time_zone is empty: give an IANA name, e.g. Europe/Berlin");
  }
  if (policy.working_days.empty()) {
    return absl::InvalidArgumentError("working_days is empty: give at least one day (1 = Monday)");
  }
  for (int day : policy.working_days) {
    if (day < 1 || day > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("working_days: ", day, " is not a weekday (1 = Monday … 7 = Sunday)"));
    }
  }
  if (policy.day_start_minute < 0 || policy.day_end_minute > 24 * 60 ||
      policy.day_end_minute <= policy.day_start_minute) {
    return absl::InvalidArgumentError(absl::StrCat(
        "day_start_minute ", policy.day_start_minute, " and day_end_minute ",
        policy.day_end_minute, ": the end must be after the start, within 0..1440"));
  }
  if (policy.reply_window_minutes < 1 || policy.reply_window_minutes > 43200) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reply_window_minutes ", policy.reply_window_minutes, " is outside 1..43200"));
  }
  const bool no_away = policy.away_from_ms == 0 && policy.away_until_ms == 0;
  if (!no_away && policy.away_until_ms <= policy.away_from_ms) {
    return absl::InvalidArgumentError("away_until_ms must be after away_from_ms");
  }
  if (policy.away_note.size() > 500) {
    return absl::InvalidArgumentError(
        absl::StrCat("away_note is ", policy.away_note.size(), " bytes; the limit is 500"));
  }
  return absl::OkStatus();
}

ConversationState FromProto(v1::ConversationState state) {
  switch (state) {
    case v1::CONVERSATION_ANSWERED:
      return ConversationState::kAnswered;
    case v1::CONVERSATION_SNOOZED:
      return ConversationState::kSnoozed;
    case v1::CONVERSATION_CLOSED:
      return ConversationState::kClosed;
    default:
      return ConversationState::kWaiting;
  }
}

QueueEntry FromProto(const v1::QueueEntry& in) {
  QueueEntry out;
  out.client = in.client();
  out.state = FromProto(in.state());
  out.oldest_waiting_ms = in.oldest_waiting_ms();
  out.waiting_count = in.waiting_count();
  out.last_reply_ms = in.last_reply_ms();
  out.snoozed_until_ms = in.snoozed_until_ms();
  out.due_ms = in.due_ms();
  out.overdue = in.overdue();
  out.claimed_by = in.claimed_by();
  return out;
}

// Receipts are advisory: when the server refuses one for good (the link
// ended, the peer is gone), retrying cannot help, so it is dropped. Anything
// else (unreachable server, a full queue, a local error) is retried later.
bool ReceiptRefusedForGood(const absl::Status& status) {
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

template <typename Proto>
absl::StatusOr<std::optional<Proto>> LoadProto(LocalStore& store, Space space,
                                                absl::string_view key) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(space, key));
  if (!bytes) return std::optional<Proto>();
  Proto proto;
  if (!proto.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("local record '", key, "' is corrupt"));
  }
  return std::optional<Proto>(std::move(proto));
}

}  // namespace

class Client::Impl {
 public:
  Impl(std::unique_ptr<LocalStore> store, std::unique_ptr<Engine> engine,
       client::Profile profile, std::string server_address, const TlsConfig& tls)
      : store_(std::move(store)),
        engine_(std::move(engine)),
        profile_(std::move(profile)),
        connection_(std::move(server_address), tls),
        read_receipts_(!profile_.read_receipts_off()),
        last_activity_ms_(NowMs()) {
    connection_.SetCredentials(
        {profile_.handle(), profile_.device_id(), profile_.device_secret()});
  }

  // Set by Client::Register/Open for a profile directory: Lock and auto-lock
  // need to reopen the store from it.
  void EnableLocking(std::string profile_dir, absl::Duration auto_lock_after) {
    absl::MutexLock lock(&mu_);
    profile_dir_ = std::move(profile_dir);
    auto_lock_after_ = auto_lock_after;
    auto_lock_ms_ = auto_lock_after == absl::InfiniteDuration() || auto_lock_after <= absl::ZeroDuration()
                        ? 0
                        : std::max<int64_t>(1, absl::ToInt64Milliseconds(auto_lock_after));
  }

  // Whether the idle time for the automatic log-off has passed.
  bool AutoLockDue() const {
    const int64_t after = auto_lock_ms_.load();
    return after > 0 && NowMs() - last_activity_ms_.load() >= after;
  }

  // Refuses while locked, without counting as activity (incoming messages
  // are not the user's).
  absl::Status CheckNotLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (deleted_) return DeletedError();
    return locked_ ? LockedError() : absl::OkStatus();
  }

  static TlsConfig TlsOf(const client::Profile& profile) {
    return TlsConfig{profile.tls_ca_pem(), profile.tls_system_roots(), profile.tls_crl_pem()};
  }

  // A CRL given by the app: it must parse, and it means something only with
  // TLS. Checked before anything is created, stretched or sent.
  static absl::Status ValidateCrl(absl::string_view crl_pem, bool tls) {
    if (crl_pem.empty()) return absl::OkStatus();
    if (!tls) {
      return absl::InvalidArgumentError(
          "tls_crl_pem: a certificate revocation list needs TLS (a CA certificate or the "
          "system roots)");
    }
    absl::StatusOr<std::vector<client::transport::CrlInfo>> crls =
        client::transport::ParseCrls(crl_pem);
    if (!crls.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tls_crl_pem: ", crls.status().message()));
    }
    return absl::OkStatus();
  }

  const client::Profile& profile() const { return profile_; }
  const std::string& server_address() const { return connection_.address(); }

  // The codes the server requires for each role; checked before any key is
  // made, with the CLI's flag named.
  static absl::Status ValidateRegistrationCodes(const RegisterOptions& options) {
    if (options.role == Role::kTherapist && options.enrolment_code.empty()) {
      return absl::InvalidArgumentError("a therapist needs an enrolment code (--enrol)");
    }
    if (options.role == Role::kClient && options.invite_code.empty()) {
      return absl::InvalidArgumentError("a client needs an invite code (--invite)");
    }
    return absl::OkStatus();
  }

  // Checks made before anything is created or sent.
  static absl::Status ValidateRegistration(const RegisterOptions& options) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(options.handle));
    SOTTO_RETURN_IF_ERROR(ValidateRegistrationCodes(options));
    if (options.server_address.empty()) {
      return absl::InvalidArgumentError("a server address (host:port) is required");
    }
    const TlsConfig tls{options.tls_ca_pem, options.tls_system_roots, options.tls_crl_pem};
    SOTTO_RETURN_IF_ERROR(ValidateCrl(options.tls_crl_pem, tls.enabled()));
    return client::transport::CheckServerAddress(options.server_address, tls.enabled());
  }

  // Registration: keys first (locally), then the server, then the profile.
  // `server_accepted` is set once the server has registered the handle: from
  // then on the keys in `store` are the only ones that match the account.
  static absl::StatusOr<std::unique_ptr<Impl>> Register(const RegisterOptions& options,
                                                        std::unique_ptr<LocalStore> store,
                                                        bool& server_accepted) {
    server_accepted = false;
    SOTTO_RETURN_IF_ERROR(ValidateRegistration(options));
    SOTTO_ASSIGN_OR_RETURN(auto existing, store->Get(Space::kMeta, kProfileKey));
    if (existing) {
      return absl::AlreadyExistsError(
          "this store already holds a profile; open it instead");
    }
    SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(store.get()));
    SOTTO_RETURN_IF_ERROR(engine->CreateIdentity());
    SOTTO_ASSIGN_OR_RETURN(auto signed_prekey, engine->RotateSignedPreKey(NowMs()));
    SOTTO_ASSIGN_OR_RETURN(auto prekeys, engine->GeneratePreKeys(kPreKeyStock));
    SOTTO_ASSIGN_OR_RETURN(uint32_t registration_id, engine->RegistrationId());
    SOTTO_ASSIGN_OR_RETURN(std::string identity_key, engine->IdentityPublicKey());

    client::Profile profile;
    profile.set_handle(options.handle);
    profile.set_role(static_cast<int>(options.role));
    profile.set_server_address(options.server_address);
    profile.set_device_secret(RandomBytes(32));
    profile.set_tls_ca_pem(options.tls_ca_pem);
    profile.set_tls_system_roots(options.tls_system_roots);
    profile.set_tls_crl_pem(options.tls_crl_pem);

    v1::RegisterRequest request;
    request.set_handle(options.handle);
    request.set_role(options.role == Role::kTherapist ? v1::ROLE_THERAPIST
                                                       : v1::ROLE_CLIENT);
    request.set_device_secret(profile.device_secret());
    request.set_registration_id(registration_id);
    request.set_enrolment_code(options.enrolment_code);
    request.set_invite_code(options.invite_code);
    v1::DeviceKeys* keys = request.mutable_keys();
    keys->set_identity_key(identity_key);
    FillSignedPreKey(signed_prekey, keys->mutable_signed_prekey());
    for (const auto& prekey : prekeys) {
      v1::OneTimePreKey* out = keys->add_one_time_prekeys();
      out->set_id(prekey.id);
      out->set_public_key(prekey.public_key);
    }
    Connection connection(options.server_address, TlsOf(profile));
    SOTTO_ASSIGN_OR_RETURN(v1::RegisterResponse response, connection.Register(request));
    server_accepted = true;
    profile.set_device_id(response.device_id());
    if (absl::Status saved =
            store->Apply({Write{Space::kMeta, kProfileKey, profile.SerializeAsString()},
                          Write{Space::kMeta, kMessageIndexReadyKey, "1"}});
        !saved.ok()) {
      // Retrying cannot help (the handle is taken now) and deleting the store
      // would throw away the only keys that match the account; say so.
      return absl::Status(
          saved.code() == absl::StatusCode::kAlreadyExists ? absl::StatusCode::kInternal
                                                           : saved.code(),
          absl::StrCat("the server registered '", options.handle, "' (device ",
                       response.device_id(),
                       ") but saving the profile locally failed: ", saved.message(),
                       ". The handle is now taken on the server; the keys were kept in the "
                       "local store, which holds no profile yet"));
    }
    std::string address = options.server_address;
    const TlsConfig tls = TlsOf(profile);
    return std::make_unique<Impl>(std::move(store), std::move(engine),
                                  std::move(profile), std::move(address), tls);
  }

  // `tls` overrides the profile's CA / system roots (for this session) when
  // enabled; its crl_pem, if any, is merged into the profile's CRLs and
  // stored (the newest list per issuer wins).
  static absl::StatusOr<std::unique_ptr<Impl>> Open(std::unique_ptr<LocalStore> store,
                                                    std::string server_address,
                                                    const TlsConfig& tls = {}) {
    SOTTO_ASSIGN_OR_RETURN(auto profile,
                           LoadProto<client::Profile>(*store, Space::kMeta, kProfileKey));
    if (!profile) return absl::NotFoundError("the store holds no Sotto profile");
    if (server_address.empty()) server_address = profile->server_address();
    TlsConfig effective = tls.enabled() ? tls : TlsOf(*profile);
    SOTTO_RETURN_IF_ERROR(ValidateCrl(tls.crl_pem, effective.enabled()));
    if (!tls.crl_pem.empty()) {
      SOTTO_ASSIGN_OR_RETURN(std::string merged, client::transport::MergeCrls(
                                                     profile->tls_crl_pem(), tls.crl_pem));
      if (merged != profile->tls_crl_pem()) {
        profile->set_tls_crl_pem(merged);
        SOTTO_RETURN_IF_ERROR(
            store->Apply({Write{Space::kMeta, kProfileKey, profile->SerializeAsString()}}));
      }
    }
    effective.crl_pem = profile->tls_crl_pem();
    SOTTO_RETURN_IF_ERROR(
        client::transport::CheckServerAddress(server_address, effective.enabled()));
    SOTTO_RETURN_IF_ERROR(BuildMessageIndex(*store));
    SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(store.get()));
    return std::make_unique<Impl>(std::move(store), std::move(engine),
                                  std::move(*profile), std::move(server_address), effective);
  }

  // ---- locking ----

  // Every call passes here first (under mu_): refuses while locked, locks
  // after `auto_lock_after_` without a call, and counts this call as activity.
  absl::Status Enter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (deleted_) return DeletedError();
    if (locked_) return LockedError();
    if (AutoLockDue()) {
      LockHeld();
      return LockedError();
    }
    last_activity_ms_ = NowMs();
    return absl::OkStatus();
  }

  // Enter() for calls that do not otherwise hold mu_.
  absl::Status Check() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return Enter();
  }

  absl::Status LockedError() const {
    return absl::FailedPreconditionError(
        absl::StrCat("locked: the profile of '", profile_.handle(),
                     "' is locked (by Lock() or after ", absl::FormatDuration(auto_lock_after_),
                     " without use); unlock it with the passphrase"));
  }

  void LockHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // The engine first: it points into the store.
    engine_.reset();
    store_.reset();  // closes RocksDB; the data key's subkeys are zeroed
    std::string* secret = profile_.mutable_device_secret();
    OPENSSL_cleanse(secret->data(), secret->size());
    profile_.clear_device_secret();
    connection_.SetCredentials({profile_.handle(), profile_.device_id(), ""});
    locked_ = true;
  }

  absl::Status Lock() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (deleted_) return DeletedError();
    if (profile_dir_.empty()) {
      return absl::UnimplementedError(
          "Lock needs a profile in a profile directory; an app-provided store holds its own "
          "keys (destroy the Client instead)");
    }
    if (!locked_) LockHeld();
    return absl::OkStatus();
  }

  absl::Status Unlock(absl::string_view passphrase) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (deleted_) return DeletedError();
    if (!locked_) return absl::OkStatus();
    SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store,
                           client::storage::OpenEncryptedStore(profile_dir_, passphrase));
    SOTTO_ASSIGN_OR_RETURN(auto profile,
                           LoadProto<client::Profile>(*store, Space::kMeta, kProfileKey));
    if (!profile || profile->handle() != profile_.handle() ||
        profile->device_id() != profile_.device_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat(profile_dir_, " no longer holds the profile of '", profile_.handle(), "'"));
    }
    SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(store.get()));
    profile_.set_device_secret(profile->device_secret());
    OPENSSL_cleanse(profile->mutable_device_secret()->data(), profile->device_secret().size());
    connection_.SetCredentials(
        {profile_.handle(), profile_.device_id(), profile_.device_secret()});
    store_ = std::move(store);
    engine_ = std::move(engine);
    locked_ = false;
    last_activity_ms_ = NowMs();
    return absl::OkStatus();
  }

  bool IsLocked() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return locked_;
  }

  // ---- the account ----

  absl::Status DeletedError() const {
    return absl::FailedPreconditionError(absl::StrCat(
        "the account '", profile_.handle(), "' was deleted and this device's profile wiped; "
        "this Client can no longer be used"));
  }

  absl::Status DeleteAccount(absl::string_view confirm_handle) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    if (confirm_handle != profile_.handle()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "to delete the account, confirm with its handle '", profile_.handle(), "' (got '",
          confirm_handle, "'); nothing was deleted"));
    }
    // The server first: until it confirms, the local keys are the only way
    // back into the account, so a failure here must leave them alone.
    SOTTO_RETURN_IF_ERROR(connection_.DeleteAccount(profile_.handle()));
    deleted_ = true;
    deleted_flag_ = true;  // ends a running Listen
    std::string* secret = profile_.mutable_device_secret();
    OPENSSL_cleanse(secret->data(), secret->size());
    profile_.clear_device_secret();
    connection_.SetCredentials({profile_.handle(), profile_.device_id(), ""});
    absl::Status wiped = WipeLocked();
    if (!wiped.ok()) {
      return absl::Status(
          wiped.code(),
          absl::StrCat("the account '", profile_.handle(),
                       "' was deleted on the server, but wiping this device's profile failed: ",
                       wiped.message(),
                       profile_dir_.empty()
                           ? ""
                           : absl::StrCat("; delete the directory ", profile_dir_, " by hand")));
    }
    return absl::OkStatus();
  }

  // Deletes the local profile after the server deleted the account.
  absl::Status WipeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (profile_dir_.empty()) {
      // An app-provided store: delete every record we wrote, in one Apply.
      std::vector<Write> deletes;
      for (int space = static_cast<int>(Space::kMeta);
           space <= static_cast<int>(Space::kPendingIdentity); ++space) {
        SOTTO_ASSIGN_OR_RETURN(std::vector<client::storage::Entry> entries,
                               store_->Scan(static_cast<Space>(space), ""));
        for (client::storage::Entry& e : entries) {
          deletes.push_back(Write{static_cast<Space>(space), std::move(e.key), std::nullopt});
        }
      }
      absl::Status applied = store_->Apply(deletes);
      engine_.reset();  // it points into the store
      store_.reset();
      return applied;
    }
    // Close the store first (its keys are zeroed, its lock released), then
    // overwrite and delete its files.
    engine_.reset();
    store_.reset();
    return client::storage::WipeEncryptedStore(profile_dir_);
  }

  absl::Status ChangePassphrase(absl::string_view old_passphrase,
                                absl::string_view new_passphrase) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    return store_->ChangePassphrase(old_passphrase, new_passphrase);
  }

  // ---- identity ----

  absl::StatusOr<SafetyNumberInfo> GetSafetyNumber(absl::string_view peer) ABSL_LOCKS_EXCLUDED(mu_) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    SafetyNumberInfo out;
    out.peer = std::string(peer);
    std::string key;
    SOTTO_ASSIGN_OR_RETURN(auto pending, engine_->PendingIdentity(peer));
    if (pending) {
      key = pending->key;
      out.changed = true;
    } else {
      SOTTO_ASSIGN_OR_RETURN(auto trusted, engine_->TrustedIdentity(peer));
      if (!trusted) {
        return absl::NotFoundError(absl::StrCat("no identity key of '", peer,
                                                "' is known yet: exchange a message first"));
      }
      key = *trusted;
      SOTTO_ASSIGN_OR_RETURN(out.verified, engine_->IsVerified(peer));
    }
    SOTTO_ASSIGN_OR_RETURN(auto number, engine_->SafetyNumber(profile_.handle(), peer, key));
    out.digits = std::move(number.displayable);
    out.scannable = std::move(number.scannable);
    return out;
  }

  absl::Status MarkVerified(absl::string_view peer) ABSL_LOCKS_EXCLUDED(mu_) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    return engine_->MarkVerified(peer);
  }

  absl::Status AcceptIdentityChange(absl::string_view peer) ABSL_LOCKS_EXCLUDED(mu_) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    return engine_->AcceptPendingIdentity(peer);
  }

  // After the engine refused `peer`'s identity key (FAILED_PRECONDITION
  // `refusal`): accepts an unverified contact's changed key (true: retry),
  // or says why it is held (the error). Other refusals come back as they are.
  absl::StatusOr<bool> ResolveIdentityChange(absl::string_view peer, const absl::Status& refusal,
                                             std::vector<IdentityNotice>& notices)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (refusal.code() != absl::StatusCode::kFailedPrecondition) return refusal;
    SOTTO_ASSIGN_OR_RETURN(auto pending, engine_->PendingIdentity(peer));
    if (!pending) return refusal;
    SOTTO_ASSIGN_OR_RETURN(bool verified, engine_->IsVerified(peer));
    if (!verified && !pending->new_device) {
      SOTTO_RETURN_IF_ERROR(engine_->AcceptPendingIdentity(peer));
      notices.push_back(IdentityNotice{
          std::string(peer), IdentityNotice::Kind::kAccepted,
          absl::StrCat(peer, "'s safety number changed (a new identity key, e.g. a reinstall); "
                             "you had not verified it, so the new key was accepted. Compare it: "
                             "`sotto safety-number ",
                       peer, "`")});
      return true;
    }
    return HeldError(peer, pending->new_device);
  }

  static absl::Status HeldError(absl::string_view peer, bool new_device) {
    return absl::FailedPreconditionError(absl::StrCat(
        peer,
        new_device ? " has a new device with an unverified identity key"
                   : "'s safety number changed",
        "; messages are held. Compare it (`sotto safety-number ", peer,
        "`) and accept with `sotto trust ", peer, "`"));
  }

  absl::StatusOr<SendResult> SendText(absl::string_view to, absl::string_view text,
                                      const SendOptions& options) {
    Content content;
    content.mutable_text()->set_body(std::string(text));
    return SendMessage(to, RandomBytes(kMessageIdBytes), std::move(content), options);
  }

  absl::StatusOr<SendResult> SendLetter(absl::string_view to, absl::string_view subject,
                                        absl::string_view body, const SendOptions& options) {
    std::string message_id = RandomBytes(kMessageIdBytes);
    Content content;
    v1::content::Letter* letter = content.mutable_letter();
    letter->set_subject(std::string(subject));
    letter->set_body(std::string(body));
    // A new thread: the letter is its own thread's first message.
    letter->set_thread_id(message_id);
    return SendMessage(to, std::move(message_id), std::move(content), options);
  }

  absl::StatusOr<SendResult> Reply(absl::string_view id_prefix, absl::string_view body,
                                   const SendOptions& options) {
    client::StoredMessage original;
    {
      absl::MutexLock lock(&mu_);
      SOTTO_RETURN_IF_ERROR(Enter());
      SOTTO_ASSIGN_OR_RETURN(auto found, FindMessage(id_prefix));
      original = std::move(found.second);
    }
    Content content;
    if (original.content().has_letter()) {
      const v1::content::Letter& in = original.content().letter();
      v1::content::Letter* letter = content.mutable_letter();
      letter->set_subject(client::history::ReplySubject(in.subject()));
      letter->set_body(std::string(body));
      letter->set_in_reply_to(original.message_id());
      letter->set_thread_id(in.thread_id().empty() ? original.message_id() : in.thread_id());
    } else {
      content.mutable_text()->set_body(std::string(body));
    }
    return SendMessage(original.peer(), RandomBytes(kMessageIdBytes), std::move(content),
                       options);
  }

  absl::StatusOr<std::vector<SendResult>> SendToCareTeam(absl::string_view text,
                                                         const SendOptions& options) {
    if (static_cast<Role>(profile_.role()) != Role::kClient) {
      return absl::FailedPreconditionError(
          "only a client has a care team; a therapist writes to one client at a time");
    }
    SOTTO_ASSIGN_OR_RETURN(v1::ListLinksResponse links, connection_.ListLinks());
    std::vector<std::string> team;
    for (const v1::CareLink& link : links.links()) {
      if (link.state() == v1::LINK_ACTIVE) team.push_back(link.peer());
    }
    if (team.empty()) return absl::FailedPreconditionError("you have no active care team");
    std::vector<SendResult> results;
    std::vector<std::string> sent_to;
    std::vector<std::string> failures;
    absl::Status first_error;
    for (const std::string& therapist : team) {
      absl::StatusOr<SendResult> result = SendText(therapist, text, options);
      if (result.ok()) {
        sent_to.push_back(therapist);
        results.push_back(std::move(*result));
      } else {
        if (first_error.ok()) first_error = result.status();
        failures.push_back(absl::StrCat(therapist, " (", result.status().message(), ")"));
      }
    }
    if (!first_error.ok()) {
      // The caller gets one status: say who did get the message, so that a
      // retry does not send it twice without the user knowing.
      return absl::Status(
          first_error.code(),
          absl::StrCat("not sent to ", absl::StrJoin(failures, ", "),
                       sent_to.empty() ? "" : absl::StrCat("; sent to ", absl::StrJoin(sent_to, ", "))));
    }
    return results;
  }

  absl::Status CancelScheduled(absl::string_view id_prefix) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    SOTTO_ASSIGN_OR_RETURN(auto found, FindMessage(id_prefix));
    auto& [history_key, stored] = found;
    const std::string hex = absl::BytesToHexString(stored.message_id());
    if (!stored.outgoing()) {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", hex, " was sent to you; only the sender can cancel it"));
    }
    if (client::history::StoredState(stored.state()) != DeliveryState::kScheduled) {
      return absl::NotFoundError(absl::StrCat("message ", hex, " is not scheduled"));
    }
    SOTTO_RETURN_IF_ERROR(connection_.CancelScheduled(stored.message_id()));
    stored.set_state(static_cast<int32_t>(DeliveryState::kCancelled));
    return store_->Apply({Write{Space::kHistory, history_key, stored.SerializeAsString()}});
  }

  absl::StatusOr<Invite> CreateInvite(absl::Duration valid_for) {
    uint32_t hours = 0;  // the server's default
    if (valid_for > absl::ZeroDuration()) {
      hours = static_cast<uint32_t>(
          std::min<int64_t>(absl::ToInt64Hours(valid_for + absl::Hours(1) - absl::Nanoseconds(1)),
                            std::numeric_limits<uint32_t>::max()));
    }
    SOTTO_ASSIGN_OR_RETURN(v1::CreateInviteResponse response, connection_.CreateInvite(hours));
    return Invite{response.code(), response.expires_at_ms()};
  }

  absl::StatusOr<std::string> AcceptInvite(absl::string_view code) {
    if (code.empty()) return absl::InvalidArgumentError("the invite code is empty");
    SOTTO_ASSIGN_OR_RETURN(v1::AcceptInviteResponse response,
                           connection_.AcceptInvite(std::string(code)));
    return response.therapist();
  }

  absl::StatusOr<std::vector<CareLink>> ListLinks() {
    SOTTO_ASSIGN_OR_RETURN(v1::ListLinksResponse response, connection_.ListLinks());
    std::vector<CareLink> out;
    for (const v1::CareLink& in : response.links()) {
      CareLink link;
      link.peer = in.peer();
      link.active = in.state() == v1::LINK_ACTIVE;
      link.since_ms = in.since_ms();
      link.ended_ms = in.ended_ms();
      link.ended_by = in.ended_by();
      out.push_back(std::move(link));
    }
    return out;
  }

  absl::Status EndLink(absl::string_view peer) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
    return connection_.EndLink(std::string(peer));
  }

  absl::Status SetPolicy(const ResponsePolicy& policy) {
    SOTTO_RETURN_IF_ERROR(ValidatePolicy(policy));
    return connection_.SetPolicy(ToProto(policy));
  }

  absl::StatusOr<PolicyView> GetPolicy(absl::string_view therapist) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(therapist));
    SOTTO_ASSIGN_OR_RETURN(v1::GetPolicyResponse response,
                           connection_.GetPolicy(std::string(therapist)));
    return PolicyView{FromProto(response.policy()), response.emergency_note()};
  }

  absl::StatusOr<QueueView> ListQueue(bool include_all) {
    SOTTO_ASSIGN_OR_RETURN(v1::ListQueueResponse response, connection_.ListQueue(include_all));
    QueueView view;
    view.now_ms = response.now_ms();
    for (const v1::QueueEntry& entry : response.entries()) view.entries.push_back(FromProto(entry));
    return view;
  }

  absl::Status Snooze(absl::string_view client, absl::Time until) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(client));
    if (until <= absl::Now()) {
      return absl::InvalidArgumentError("snooze until a time in the future");
    }
    return connection_.Snooze(std::string(client), absl::ToUnixMillis(until)).status();
  }

  absl::Status Close(absl::string_view client) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(client));
    return connection_.Close(std::string(client)).status();
  }

  absl::Status Claim(absl::string_view client) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(client));
    return connection_.Claim(std::string(client)).status();
  }

  absl::Status SetReadReceipts(bool enabled) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    client::Profile updated = profile_;
    updated.set_read_receipts_off(!enabled);
    SOTTO_RETURN_IF_ERROR(
        store_->Apply({Write{Space::kMeta, kProfileKey, updated.SerializeAsString()}}));
    read_receipts_ = enabled;
    return absl::OkStatus();
  }

  bool ReadReceipts() {
    absl::MutexLock lock(&mu_);
    return read_receipts_;
  }

  absl::StatusOr<SyncStats> Sync() {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    SyncStats stats;
    uint64_t after_seq = 0;
    while (true) {
      SOTTO_ASSIGN_OR_RETURN(v1::FetchResponse batch,
                             connection_.Fetch(after_seq, kFetchBatch));
      std::vector<uint64_t> acks;
      for (const v1::Envelope& envelope : batch.envelopes()) {
        after_seq = envelope.seq();
        SOTTO_ASSIGN_OR_RETURN(bool ack, Process(envelope, stats, nullptr));
        if (ack) acks.push_back(envelope.seq());
      }
      if (!acks.empty()) SOTTO_RETURN_IF_ERROR(connection_.Ack(acks).status());
      if (!batch.more() || batch.envelopes().empty()) break;
    }
    FlushOutbox();
    MaintainKeysInto(stats);
    TakeNotices(stats.notices);
    return stats;
  }

  void TakeNotices(std::vector<IdentityNotice>& into) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (IdentityNotice& n : notices_) into.push_back(std::move(n));
    notices_.clear();
  }

  // Holds mu_ only while it processes one envelope (or sends receipts), never
  // while it waits for the stream or runs `on_message`: the callback may call
  // this Client (e.g. reply), and other threads are not held up.
  absl::StatusOr<SyncStats> Listen(absl::Duration idle_timeout,
                                   const std::function<bool(const Message&)>& on_message) {
    SOTTO_RETURN_IF_ERROR(Check());
    SyncStats stats;
    std::unique_ptr<client::transport::Subscription> subscription =
        connection_.Subscribe();

    // A watchdog ends the stream once it has been idle for `idle_timeout`
    // after the backlog: a blocking Read() has no timeout of its own. Time
    // spent processing or in `on_message` is not idleness.
    absl::Mutex idle_mu;
    absl::Time last_activity = absl::Now();
    bool drained = false;
    bool busy = false;
    absl::Notification done;
    std::atomic<bool> timed_out{false};
    std::atomic<bool> auto_locked{false};
    std::thread watchdog([&] {
      while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
        // HIPAA automatic log-off: no call from the app for too long.
        if (AutoLockDue()) {
          auto_locked = true;
          subscription->Cancel();
          return;
        }
        // DeleteAccount ran on another thread: nothing is left to listen for.
        if (deleted_flag_) {
          subscription->Cancel();
          return;
        }
        absl::MutexLock idle_lock(&idle_mu);
        if (drained && !busy && absl::Now() - last_activity >= idle_timeout) {
          timed_out = true;
          subscription->Cancel();
          return;
        }
      }
    });
    auto set_busy = [&](bool now_busy) {
      absl::MutexLock idle_lock(&idle_mu);
      busy = now_busy;
      last_activity = absl::Now();
    };

    bool stopped_by_caller = false;
    bool backlog_done = false;
    absl::Status error;
    while (auto event = subscription->Read()) {
      {
        absl::MutexLock idle_lock(&idle_mu);
        last_activity = absl::Now();
        if (event->has_drained()) drained = true;
      }
      if (!event->has_envelope()) {
        // Receipts for the whole backlog go out in one batch per sender;
        // after that, one per new message.
        if (event->has_drained()) {
          backlog_done = true;
          set_busy(true);
          {
            absl::MutexLock lock(&mu_);
            if (!locked_) FlushOutbox();
          }
          set_busy(false);
        }
        continue;
      }
      set_busy(true);
      std::optional<Message> message;
      error = ProcessAndAck(event->envelope(), backlog_done, stats, message);
      if (error.ok() && message && !on_message(*message)) stopped_by_caller = true;
      set_busy(false);
      if (!error.ok() || stopped_by_caller) break;
    }
    done.Notify();
    watchdog.join();
    {
      absl::MutexLock lock(&mu_);
      if (deleted_) {
        subscription->Finish().IgnoreError();
        return DeletedError();
      }
    }
    if (auto_locked) {
      subscription->Finish().IgnoreError();
      absl::MutexLock lock(&mu_);
      if (!locked_) LockHeld();
      return LockedError();
    }
    if (!error.ok() || stopped_by_caller) {
      subscription->Cancel();
      subscription->Finish().IgnoreError();
    } else if (!timed_out) {
      // The stream ended on its own: the server went away or refused us.
      error = subscription->Finish();
      if (error.ok()) error = absl::UnavailableError("Subscribe: the server closed the stream");
    } else {
      subscription->Finish().IgnoreError();
    }
    if (!error.ok()) return error;
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(CheckNotLocked());
    FlushOutbox();
    MaintainKeysInto(stats);
    TakeNotices(stats.notices);
    return stats;
  }

  absl::StatusOr<std::vector<Conversation>> ListConversations() {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    SOTTO_ASSIGN_OR_RETURN(auto entries, store_->Scan(Space::kConversation, ""));
    std::vector<Conversation> out;
    out.reserve(entries.size());
    for (const auto& entry : entries) {
      client::ConversationSummary summary;
      if (!summary.ParseFromString(entry.value)) {
        return absl::DataLossError("a local conversation record is corrupt");
      }
      Conversation c;
      c.peer = summary.peer();
      c.last_activity_ms = summary.last_activity_ms();
      c.message_count = summary.message_count();
      c.unread_count = summary.unread_count();
      c.preview = summary.preview();
      c.last_outgoing = summary.last_outgoing();
      out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const Conversation& a, const Conversation& b) {
      return a.last_activity_ms != b.last_activity_ms
                 ? a.last_activity_ms > b.last_activity_ms
                 : a.peer < b.peer;
    });
    return out;
  }

  absl::StatusOr<std::vector<Message>> ReadConversation(absl::string_view peer) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    const std::string blinded = store_->Blind(peer);
    SOTTO_ASSIGN_OR_RETURN(auto summary, LoadProto<client::ConversationSummary>(
                                             *store_, Space::kConversation, blinded));
    if (!summary) {
      return absl::NotFoundError(absl::StrCat("no conversation with '", peer, "'"));
    }
    SOTTO_ASSIGN_OR_RETURN(auto entries, store_->Scan(Space::kHistory, blinded));
    const int64_t now = NowMs();
    std::vector<Message> out;
    out.reserve(entries.size());
    // Marking read and queueing the read receipts is one write, so a crash
    // can neither lose a receipt nor send one for a message never shown.
    std::vector<Write> writes;
    std::vector<std::string> newly_read;
    for (const auto& entry : entries) {
      client::StoredMessage stored;
      if (!stored.ParseFromString(entry.value)) {
        return absl::DataLossError(
            absl::StrCat("a local message with '", peer, "' is corrupt"));
      }
      out.push_back(ToMessage(stored, now));
      if (!stored.outgoing() && !stored.read()) {
        stored.set_read(true);
        newly_read.push_back(stored.message_id());
        writes.push_back(Write{Space::kHistory, entry.key, stored.SerializeAsString()});
      }
    }
    if (summary->unread_count() != 0) {
      summary->set_unread_count(0);
      writes.push_back(Write{Space::kConversation, blinded, summary->SerializeAsString()});
    }
    if (read_receipts_ && !newly_read.empty()) {
      SOTTO_ASSIGN_OR_RETURN(Write pending,
                             PendingReceiptWrite(std::string(peer), Receipt::READ, newly_read));
      writes.push_back(std::move(pending));
    }
    if (!writes.empty()) SOTTO_RETURN_IF_ERROR(store_->Apply(writes));
    return out;
  }

 private:
  static void FillSignedPreKey(const client::signal::SignedPreKeyData& in,
                               v1::SignedPreKey* out) {
    out->set_id(in.id);
    out->set_public_key(in.public_key);
    out->set_signature(in.signature);
  }

  // Profiles made before kMessageIndex existed get their index once, in one
  // write.
  static absl::Status BuildMessageIndex(LocalStore& store) {
    SOTTO_ASSIGN_OR_RETURN(auto ready, store.Get(Space::kMeta, kMessageIndexReadyKey));
    if (ready) return absl::OkStatus();
    SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kHistory, ""));
    std::vector<Write> writes;
    for (const auto& entry : entries) {
      client::StoredMessage stored;
      if (!stored.ParseFromString(entry.value)) {
        return absl::DataLossError("a local message is corrupt");
      }
      if (stored.message_id().size() != kMessageIdBytes) continue;
      writes.push_back(Write{Space::kMessageIndex, stored.message_id(), entry.key});
    }
    writes.push_back(Write{Space::kMeta, kMessageIndexReadyKey, "1"});
    return store.Apply(writes);
  }

  // Validates, encrypts, sends and records one message a person wrote.
  absl::StatusOr<SendResult> SendMessage(absl::string_view to, std::string message_id,
                                         Content content, const SendOptions& options) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(to));
    if (to == profile_.handle()) {
      return absl::InvalidArgumentError("you cannot send a message to yourself");
    }
    content.set_sent_at_ms(NowMs());
    SOTTO_RETURN_IF_ERROR(client::content::ValidateContent(content));
    int64_t deliver_at_ms = 0;
    if (options.deliver_at != absl::InfinitePast() && options.deliver_at != absl::InfiniteFuture() &&
        options.deliver_at > absl::Now()) {
      deliver_at_ms = absl::ToUnixMillis(options.deliver_at);
    } else if (options.deliver_at == absl::InfiniteFuture()) {
      return absl::InvalidArgumentError("deliver_at must be a finite time");
    }

    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(Enter());
    notices_.clear();
    SOTTO_ASSIGN_OR_RETURN(
        v1::SendResponse response,
        SendContent(to, message_id, client::content::EncodeContent(content),
                    v1::SEND_KIND_MESSAGE, deliver_at_ms));
    client::StoredMessage stored;
    stored.set_message_id(message_id);
    stored.set_peer(std::string(to));
    stored.set_outgoing(true);
    // The server's word decides whether it is held: one that does not know
    // send-later delivers at once.
    if (response.deliver_at_ms() > 0) {
      stored.set_server_time_ms(response.deliver_at_ms());
      stored.set_state(static_cast<int32_t>(DeliveryState::kScheduled));
    } else {
      stored.set_server_time_ms(response.server_time_ms());
      stored.set_state(static_cast<int32_t>(DeliveryState::kSent));
    }
    *stored.mutable_content() = std::move(content);
    SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes, HistoryWrites(stored));
    SOTTO_RETURN_IF_ERROR(store_->Apply(writes));
    SendResult result{ToMessage(stored, NowMs()), ToExpectation(response), {}};
    TakeNotices(result.notices);
    return result;
  }

  // Encrypts `plaintext` for every device of `to` and sends it, starting and
  // repairing sessions as the server asks.
  absl::StatusOr<v1::SendResponse> SendContent(absl::string_view to,
                                               const std::string& message_id,
                                               const std::string& plaintext, v1::SendKind kind,
                                               int64_t deliver_at_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::SendRequest request;
    request.set_recipient(std::string(to));
    request.set_message_id(message_id);
    request.set_kind(kind);
    request.set_deliver_at_ms(deliver_at_ms);
    // A change seen earlier (e.g. a held message): a verified contact stops
    // here; an unverified one's new key is accepted (new sessions below).
    SOTTO_ASSIGN_OR_RETURN(auto pending, engine_->PendingIdentity(to));
    if (pending) {
      SOTTO_RETURN_IF_ERROR(
          ResolveIdentityChange(to, absl::FailedPreconditionError("identity changed"), notices_)
              .status());
    }
    for (int attempt = 0; attempt < kSendRepairAttempts; ++attempt) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices,
                             engine_->SessionDevices(to));
      if (devices.empty()) {
        if (absl::Status started = StartSessions(to, /*only=*/{}); !started.ok()) {
          SOTTO_ASSIGN_OR_RETURN(bool retry, ResolveIdentityChange(to, started, notices_));
          if (retry) continue;
        }
        SOTTO_ASSIGN_OR_RETURN(devices, engine_->SessionDevices(to));
        if (devices.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("'", to, "' has no devices to send to"));
        }
      }
      request.clear_envelopes();
      for (uint32_t device : devices) {
        Address address{std::string(to), device};
        SOTTO_ASSIGN_OR_RETURN(auto ciphertext, engine_->Encrypt(address, plaintext));
        SOTTO_ASSIGN_OR_RETURN(uint32_t registration_id,
                               engine_->RemoteRegistrationId(address));
        v1::OutgoingEnvelope* envelope = request.add_envelopes();
        envelope->set_device_id(device);
        envelope->set_registration_id(registration_id);
        envelope->set_type(ciphertext.type == client::signal::MessageType::kPreKey
                               ? v1::ENVELOPE_TYPE_PREKEY
                               : v1::ENVELOPE_TYPE_CIPHERTEXT);
        envelope->set_ciphertext(std::move(ciphertext.body));
      }
      SOTTO_ASSIGN_OR_RETURN(auto outcome, connection_.Send(request));
      if (outcome.response) return std::move(*outcome.response);
      if (absl::Status repaired = RepairSessions(to, *outcome.mismatch); !repaired.ok()) {
        // An accepted change dropped every session: the next attempt starts
        // them again.
        SOTTO_RETURN_IF_ERROR(ResolveIdentityChange(to, repaired, notices_).status());
      }
    }
    return absl::AbortedError(absl::StrCat(
        "the devices of '", to, "' kept changing while sending; try again"));
  }

  // The message whose hex id starts with `id_prefix`, with its kHistory key.
  absl::StatusOr<std::pair<std::string, client::StoredMessage>> FindMessage(
      absl::string_view id_prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SOTTO_ASSIGN_OR_RETURN(std::string prefix, client::history::NormalizeIdPrefix(id_prefix));
    // Scan by the whole bytes the prefix gives, then match the odd nibble.
    const std::string byte_prefix = absl::HexStringToBytes(prefix.substr(0, prefix.size() & ~1u));
    SOTTO_ASSIGN_OR_RETURN(auto entries, store_->Scan(Space::kMessageIndex, byte_prefix));
    std::vector<const client::storage::Entry*> matches;
    for (const auto& entry : entries) {
      if (absl::StartsWith(absl::BytesToHexString(entry.key), prefix)) matches.push_back(&entry);
    }
    if (matches.empty()) {
      return absl::NotFoundError(absl::StrCat("no message with an id starting '", prefix, "'"));
    }
    if (matches.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat("'", prefix, "' matches ", matches.size(),
                                                     " messages; give more of the id"));
    }
    const std::string history_key = matches[0]->value;
    SOTTO_ASSIGN_OR_RETURN(auto stored, LoadProto<client::StoredMessage>(
                                            *store_, Space::kHistory, history_key));
    if (!stored) {
      return absl::DataLossError(
          absl::StrCat("message ", prefix, "… is indexed but missing from the history"));
    }
    return std::make_pair(history_key, std::move(*stored));
  }

  // The write that adds `ids` to the pending receipts of `type` for `peer`.
  absl::StatusOr<Write> PendingReceiptWrite(const std::string& peer, Receipt::Type type,
                                            const std::vector<std::string>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string key = client::history::OutboxKey(store_->Blind(peer), type);
    SOTTO_ASSIGN_OR_RETURN(auto pending,
                           LoadProto<client::PendingReceipts>(*store_, Space::kOutbox, key));
    client::PendingReceipts updated = pending.value_or(client::PendingReceipts());
    updated.set_peer(peer);
    updated.set_type(type);
    client::history::AddPending(ids, updated);
    return Write{Space::kOutbox, key, updated.SerializeAsString()};
  }

  // Sends what waits in the outbox. Best effort: a receipt that cannot go now
  // stays for the next Sync/Listen, one the server refuses for good is
  // dropped; nothing here fails the caller.
  void FlushOutbox() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::vector<client::storage::Entry>> entries =
        store_->Scan(Space::kOutbox, "");
    if (!entries.ok()) return;
    for (const auto& entry : *entries) {
      client::PendingReceipts pending;
      if (!pending.ParseFromString(entry.value) ||
          (pending.type() == Receipt::READ && !read_receipts_)) {
        store_->Apply({Write{Space::kOutbox, entry.key, std::nullopt}}).IgnoreError();
        continue;
      }
      const std::vector<Receipt> receipts = client::history::CutReceipts(pending);
      int sent_ids = 0;
      absl::Status status;
      for (const Receipt& receipt : receipts) {
        Content content;
        content.set_sent_at_ms(NowMs());
        *content.mutable_receipt() = receipt;
        status = SendContent(pending.peer(), RandomBytes(kMessageIdBytes),
                             client::content::EncodeContent(content), v1::SEND_KIND_RECEIPT,
                             /*deliver_at_ms=*/0)
                     .status();
        if (!status.ok()) break;
        sent_ids += receipt.message_ids_size();
      }
      if (status.ok() || ReceiptRefusedForGood(status)) {
        store_->Apply({Write{Space::kOutbox, entry.key, std::nullopt}}).IgnoreError();
      } else if (sent_ids > 0) {
        pending.mutable_message_ids()->DeleteSubrange(0, sent_ids);
        store_->Apply({Write{Space::kOutbox, entry.key, pending.SerializeAsString()}})
            .IgnoreError();
      }
      // An unreachable server will not answer the next one either.
      if (status.code() == absl::StatusCode::kUnavailable ||
          status.code() == absl::StatusCode::kDeadlineExceeded) {
        return;
      }
    }
  }

  // See session_setup.h: a device whose identity key is not trusted (e.g. a
  // new device of a known user that the server made up) fails the send with
  // FAILED_PRECONDITION before anything is sent to anyone.
  absl::Status StartSessions(absl::string_view to, const absl::btree_set<uint32_t>& only)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return client::StartSessions(*engine_, to, BundleFetcher(to), only);
  }

  absl::Status RepairSessions(absl::string_view to, const v1::DeviceMismatch& mismatch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return client::RepairSessions(*engine_, to, mismatch, BundleFetcher(to));
  }

  client::FetchBundles BundleFetcher(absl::string_view to) {
    return [this, user = std::string(to)] { return connection_.GetBundle(user); };
  }

  // The writes that add `stored` to the history, index its id and update its
  // conversation's summary. Assigns the local sequence number.
  absl::StatusOr<std::vector<Write>> HistoryWrites(client::StoredMessage& stored) {
    SOTTO_ASSIGN_OR_RETURN(auto next, store_->Get(Space::kMeta, kNextLocalSeqKey));
    uint64_t seq = 1;
    if (next && next->size() == 8) {
      seq = 0;
      for (unsigned char c : *next) seq = (seq << 8) | c;
    }
    stored.set_local_seq(seq);
    const std::string blinded = store_->Blind(stored.peer());
    SOTTO_ASSIGN_OR_RETURN(auto summary, LoadProto<client::ConversationSummary>(
                                             *store_, Space::kConversation, blinded));
    client::ConversationSummary updated = summary.value_or(client::ConversationSummary());
    updated.set_peer(stored.peer());
    updated.set_message_count(updated.message_count() + 1);
    if (!stored.outgoing()) updated.set_unread_count(updated.unread_count() + 1);
    if (stored.server_time_ms() >= updated.last_activity_ms()) {
      updated.set_last_activity_ms(stored.server_time_ms());
      updated.set_preview(PreviewOf(stored.content()));
      updated.set_last_outgoing(stored.outgoing());
    }
    const std::string history_key = blinded + BigEndian64(seq);
    std::vector<Write> writes{
        Write{Space::kMeta, kNextLocalSeqKey, BigEndian64(seq + 1)},
        Write{Space::kHistory, history_key, stored.SerializeAsString()},
        Write{Space::kConversation, blinded, updated.SerializeAsString()},
    };
    // The first message with an id keeps it: a peer who reuses an id (ours
    // or their own) cannot redirect replies or receipts to their message.
    // (A malformed id from a peer is kept in the history but not indexed.)
    if (stored.message_id().size() == kMessageIdBytes) {
      SOTTO_ASSIGN_OR_RETURN(auto indexed,
                             store_->Get(Space::kMessageIndex, stored.message_id()));
      if (!indexed) {
        writes.push_back(Write{Space::kMessageIndex, stored.message_id(), history_key});
      }
    }
    return writes;
  }

  // The writes that apply a receipt from `sender` to our messages it names.
  // Ids that are unknown, not ours, or not sent to `sender` are ignored.
  absl::StatusOr<std::vector<Write>> ReceiptWrites(const std::string& sender,
                                                   const Receipt& receipt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Write> writes;
    for (const std::string& id : receipt.message_ids()) {
      SOTTO_ASSIGN_OR_RETURN(auto history_key, store_->Get(Space::kMessageIndex, id));
      if (!history_key) continue;
      SOTTO_ASSIGN_OR_RETURN(auto stored, LoadProto<client::StoredMessage>(
                                              *store_, Space::kHistory, *history_key));
      if (!stored || !stored->outgoing() || stored->peer() != sender) continue;
      const DeliveryState before = client::history::StoredState(stored->state());
      const DeliveryState after = client::history::ApplyReceipt(before, receipt.type());
      if (after == before) continue;
      stored->set_state(static_cast<int32_t>(after));
      writes.push_back(Write{Space::kHistory, *history_key, stored->SerializeAsString()});
    }
    return writes;
  }

  // Decrypts and stores one envelope. Returns whether to acknowledge it.
  // Errors only for failures of our own (local store, I/O), which leave the
  // envelope queued for the next sync.
  absl::StatusOr<bool> Process(const v1::Envelope& envelope, SyncStats& stats,
                               std::optional<Message>* delivered, bool retried = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Address from{envelope.sender(), envelope.sender_device()};
    client::signal::Ciphertext ciphertext{
        envelope.type() == v1::ENVELOPE_TYPE_PREKEY ? client::signal::MessageType::kPreKey
                                                    : client::signal::MessageType::kCiphertext,
        envelope.ciphertext()};
    if (envelope.type() != v1::ENVELOPE_TYPE_PREKEY &&
        envelope.type() != v1::ENVELOPE_TYPE_CIPHERTEXT) {
      ++stats.undecryptable;
      return true;
    }
    client::StoredMessage stored;
    bool is_receipt = false;
    // Runs inside the decryption: its writes commit with the session state,
    // so a message is stored, its delivery receipt queued and (for a
    // receipt) our messages' states updated exactly once. If it fails (our
    // store), the engine stores nothing and the envelope stays queued.
    auto writes_for = [&](absl::string_view plaintext) -> absl::StatusOr<std::vector<Write>> {
      absl::StatusOr<Content> content = client::content::DecodeContent(plaintext);
      if (content.ok() && content->has_receipt()) {
        is_receipt = true;
        return ReceiptWrites(envelope.sender(), content->receipt());
      }
      Content shown;
      if (content.ok() && (content->has_text() || content->has_letter())) {
        shown = std::move(*content);
      } else {
        // It decrypted, so it did come from the sender's device; dropping it
        // would leave the user unaware that anything arrived.
        if (content.ok()) shown.set_sent_at_ms(content->sent_at_ms());
        shown.mutable_text()->set_body(kUnreadableText);
      }
      stored.set_message_id(envelope.message_id());
      stored.set_peer(envelope.sender());
      stored.set_peer_device(envelope.sender_device());
      stored.set_outgoing(false);
      stored.set_server_time_ms(envelope.server_time_ms());
      *stored.mutable_content() = std::move(shown);
      SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes, HistoryWrites(stored));
      if (envelope.message_id().size() == kMessageIdBytes) {
        SOTTO_ASSIGN_OR_RETURN(
            Write receipt,
            PendingReceiptWrite(envelope.sender(), Receipt::DELIVERED, {envelope.message_id()}));
        writes.push_back(std::move(receipt));
      }
      return writes;
    };
    absl::Status handler_error;
    auto on_plaintext = [&](absl::string_view plaintext) -> absl::StatusOr<std::vector<Write>> {
      absl::StatusOr<std::vector<Write>> writes = writes_for(plaintext);
      if (!writes.ok()) handler_error = writes.status();
      return writes;
    };
    absl::StatusOr<std::string> plaintext =
        engine_->Decrypt(from, ciphertext, on_plaintext);
    // Our own failure, whatever its code: keep the envelope queued.
    if (!handler_error.ok()) return handler_error;
    if (plaintext.ok()) {
      if (!is_receipt) {
        ++stats.received;
        if (delivered) *delivered = ToMessage(stored, NowMs());
      }
      return true;
    }
    switch (plaintext.status().code()) {
      case absl::StatusCode::kAlreadyExists:
        ++stats.duplicates;
        return true;
      case absl::StatusCode::kFailedPrecondition: {
        // An untrusted identity key: accepted if it is an unverified
        // contact's change (then decrypt again), else held.
        absl::StatusOr<bool> resolved =
            ResolveIdentityChange(envelope.sender(), plaintext.status(), stats.notices);
        if (resolved.ok() && *resolved && !retried) {
          return Process(envelope, stats, delivered, /*retried=*/true);
        }
        if (!resolved.ok() && resolved.status().code() != absl::StatusCode::kFailedPrecondition) {
          return resolved.status();  // our store
        }
        ++stats.held;
        const std::string& sender = envelope.sender();
        if (std::find(stats.held_from.begin(), stats.held_from.end(), sender) ==
            stats.held_from.end()) {
          stats.held_from.push_back(sender);
          std::sort(stats.held_from.begin(), stats.held_from.end());
          stats.notices.push_back(IdentityNotice{
              sender, IdentityNotice::Kind::kHeld,
              std::string(resolved.ok() ? plaintext.status().message()
                                        : resolved.status().message())});
        }
        return false;
      }
      // Caused by the peer (or a forger): bad MAC, malformed, a prekey we no
      // longer have, no session. The engine reports failures of our own
      // store as INTERNAL or UNAVAILABLE, which land below.
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kDataLoss:
        ++stats.undecryptable;
        return true;
      default:
        return plaintext.status();
    }
  }

  // Listen's step for one envelope, under mu_: decrypt and store it,
  // acknowledge it when Process says so, and after the backlog send its
  // delivery receipt. `message` is set to what to show.
  absl::Status ProcessAndAck(const v1::Envelope& envelope, bool backlog_done, SyncStats& stats,
                             std::optional<Message>& message) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    SOTTO_RETURN_IF_ERROR(CheckNotLocked());
    SOTTO_ASSIGN_OR_RETURN(bool ack, Process(envelope, stats, &message));
    if (ack) SOTTO_RETURN_IF_ERROR(connection_.Ack({envelope.seq()}).status());
    if (backlog_done && message) FlushOutbox();
    return absl::OkStatus();
  }

  // Key maintenance after a sync. Its failure does not fail the sync (the
  // messages are stored and acknowledged by then): it is reported in
  // stats.maintenance_error and tried again on the next Sync/Listen.
  void MaintainKeysInto(SyncStats& stats) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (absl::Status s = MaintainKeys(); !s.ok()) stats.maintenance_error = s.ToString();
  }

  // Keeps the server's stock of one-time prekeys up and the signed prekey
  // fresh, so that people can always start a session with this device.
  absl::Status MaintainKeys() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SOTTO_ASSIGN_OR_RETURN(v1::CountPreKeysResponse count, connection_.CountPreKeys());
    v1::UploadKeysRequest upload;
    if (count.one_time_prekey_count() < kPreKeyRefillBelow) {
      SOTTO_ASSIGN_OR_RETURN(auto prekeys, engine_->GeneratePreKeys(
                                               kPreKeyStock - count.one_time_prekey_count()));
      for (const auto& prekey : prekeys) {
        v1::OneTimePreKey* out = upload.mutable_keys()->add_one_time_prekeys();
        out->set_id(prekey.id);
        out->set_public_key(prekey.public_key);
      }
    }
    SOTTO_ASSIGN_OR_RETURN(auto current, engine_->CurrentSignedPreKey());
    if (absl::FromUnixMillis(current.created_ms) + kSignedPreKeyLifetime < absl::Now()) {
      SOTTO_ASSIGN_OR_RETURN(auto fresh, engine_->RotateSignedPreKey(NowMs()));
      FillSignedPreKey(fresh, upload.mutable_keys()->mutable_signed_prekey());
    }
    if (!upload.has_keys()) return absl::OkStatus();
    return connection_.UploadKeys(upload).status();
  }

  absl::Mutex mu_;
  // Null while locked.
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<Engine> engine_ ABSL_PT_GUARDED_BY(mu_);
  // The device secret is wiped while locked; the rest stays (handle() etc.).
  client::Profile profile_;
  Connection connection_;
  bool read_receipts_ ABSL_GUARDED_BY(mu_);
  // Where Unlock reopens the store; empty for an app-provided store (which
  // is never locked).
  std::string profile_dir_ ABSL_GUARDED_BY(mu_);
  absl::Duration auto_lock_after_ ABSL_GUARDED_BY(mu_) = absl::InfiniteDuration();
  // auto_lock_after_ in ms (0: off) and the last call, read by Listen's
  // watchdog without mu_.
  std::atomic<int64_t> auto_lock_ms_{0};
  std::atomic<int64_t> last_activity_ms_;
  bool locked_ ABSL_GUARDED_BY(mu_) = false;
  // Set once DeleteAccount succeeded on the server: the Client is finished.
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;
  // deleted_, for Listen's watchdog (which does not take mu_).
  std::atomic<bool> deleted_flag_{false};
  // Identity notices met by SendContent, taken by the caller.
  std::vector<IdentityNotice> notices_ ABSL_GUARDED_BY(mu_);
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Register(const RegisterOptions& options) {
  if (options.profile_dir.empty()) {
    return absl::InvalidArgumentError("a profile directory is required");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  // Check everything we can before creating files, so that a bad handle
  // leaves nothing behind.
  SOTTO_RETURN_IF_ERROR(Impl::ValidateRegistration(options));
  if (client::storage::EncryptedStoreExists(options.profile_dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a profile already exists in ", options.profile_dir));
  }
  auto limits = options.key_derivation == KeyDerivation::kFastForTestsOnly
                    ? client::storage::KdfLimits::ForTesting()
                    : client::storage::KdfLimits::Interactive();
  SOTTO_ASSIGN_OR_RETURN(
      std::unique_ptr<LocalStore> store,
      client::storage::CreateEncryptedStore(options.profile_dir, options.passphrase, limits));
  bool server_accepted = false;
  absl::StatusOr<std::unique_ptr<Impl>> impl =
      Impl::Register(options, std::move(store), server_accepted);
  if (!impl.ok()) {
    // Before the server accepted, the keys were never published and a
    // half-made profile would only stand in the way of the next attempt.
    // After, they are the account's only keys: keep them (the error says so).
    if (!server_accepted) {
      client::storage::DestroyEncryptedStore(options.profile_dir).IgnoreError();
    }
    return impl.status();
  }
  (*impl)->EnableLocking(options.profile_dir, options.auto_lock_after);
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Register(
    const RegisterOptions& options, std::unique_ptr<LocalStore> store) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  bool server_accepted = false;
  SOTTO_ASSIGN_OR_RETURN(auto impl, Impl::Register(options, std::move(store), server_accepted));
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Open(const OpenOptions& options) {
  // Refuse a bad override before the passphrase is stretched (with TLS from
  // the profile, Impl::Open checks it again).
  const TlsConfig tls{options.tls_ca_pem, options.tls_system_roots, options.tls_crl_pem};
  if (!options.server_address.empty() && tls.enabled()) {
    SOTTO_RETURN_IF_ERROR(client::transport::CheckServerAddress(options.server_address, true));
  }
  // Whether the profile has TLS is known only once it is open.
  SOTTO_RETURN_IF_ERROR(Impl::ValidateCrl(options.tls_crl_pem, /*tls=*/true));
  if (!client::storage::EncryptedStoreExists(options.profile_dir)) {
    return absl::NotFoundError(absl::StrCat("no profile in ", options.profile_dir,
                                            " (create one with `sotto init`)"));
  }
  SOTTO_ASSIGN_OR_RETURN(
      std::unique_ptr<LocalStore> store,
      client::storage::OpenEncryptedStore(options.profile_dir, options.passphrase));
  SOTTO_ASSIGN_OR_RETURN(auto impl, Impl::Open(std::move(store), options.server_address, tls));
  impl->EnableLocking(options.profile_dir, options.auto_lock_after);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Open(std::unique_ptr<LocalStore> store,
                                                     std::string server_address) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  SOTTO_ASSIGN_OR_RETURN(auto impl, Impl::Open(std::move(store), std::move(server_address)));
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

const std::string& Client::handle() const { return impl_->profile().handle(); }
uint32_t Client::device_id() const { return impl_->profile().device_id(); }
Role Client::role() const { return static_cast<Role>(impl_->profile().role()); }
const std::string& Client::server_address() const { return impl_->server_address(); }

absl::StatusOr<SendResult> Client::SendText(absl::string_view to, absl::string_view text,
                                            const SendOptions& options) {
  return impl_->SendText(to, text, options);
}
absl::StatusOr<SendResult> Client::SendLetter(absl::string_view to, absl::string_view subject,
                                              absl::string_view body,
                                              const SendOptions& options) {
  return impl_->SendLetter(to, subject, body, options);
}
absl::StatusOr<SendResult> Client::Reply(absl::string_view id_prefix, absl::string_view body,
                                         const SendOptions& options) {
  return impl_->Reply(id_prefix, body, options);
}
absl::StatusOr<std::vector<SendResult>> Client::SendToCareTeam(absl::string_view text,
                                                               const SendOptions& options) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->SendToCareTeam(text, options);
}
absl::Status Client::CancelScheduled(absl::string_view id_prefix) {
  return impl_->CancelScheduled(id_prefix);
}
absl::StatusOr<Invite> Client::CreateInvite(absl::Duration valid_for) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->CreateInvite(valid_for);
}
absl::StatusOr<std::string> Client::AcceptInvite(absl::string_view code) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->AcceptInvite(code);
}
absl::StatusOr<std::vector<CareLink>> Client::ListLinks() { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->ListLinks(); }
absl::Status Client::EndLink(absl::string_view peer) { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->EndLink(peer); }
absl::Status Client::SetPolicy(const ResponsePolicy& policy) { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->SetPolicy(policy); }
absl::StatusOr<PolicyView> Client::GetPolicy(absl::string_view therapist) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->GetPolicy(therapist);
}
absl::StatusOr<QueueView> Client::ListQueue(bool include_all) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->ListQueue(include_all);
}
absl::Status Client::Snooze(absl::string_view client, absl::Time until) {
  SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->Snooze(client, until);
}
absl::Status Client::Close(absl::string_view client) { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->Close(client); }
absl::Status Client::Claim(absl::string_view client) { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->Claim(client); }
absl::Status Client::SetReadReceipts(bool enabled) { return impl_->SetReadReceipts(enabled); }
absl::StatusOr<bool> Client::ReadReceipts() { SOTTO_RETURN_IF_ERROR(impl_->Check());
  return impl_->ReadReceipts(); }
absl::StatusOr<SyncStats> Client::Sync() { return impl_->Sync(); }
absl::StatusOr<SyncStats> Client::Listen(
    absl::Duration idle_timeout, const std::function<bool(const Message&)>& on_message) {
  return impl_->Listen(idle_timeout, on_message);
}
absl::StatusOr<std::vector<Conversation>> Client::ListConversations() {
  return impl_->ListConversations();
}
absl::StatusOr<std::vector<Message>> Client::ReadConversation(absl::string_view peer) {
  return impl_->ReadConversation(peer);
}

absl::StatusOr<SafetyNumberInfo> Client::SafetyNumber(absl::string_view peer) {
  return impl_->GetSafetyNumber(peer);
}
absl::Status Client::MarkVerified(absl::string_view peer) { return impl_->MarkVerified(peer); }
absl::Status Client::AcceptIdentityChange(absl::string_view peer) {
  return impl_->AcceptIdentityChange(peer);
}
absl::Status Client::ChangePassphrase(absl::string_view old_passphrase,
                                      absl::string_view new_passphrase) {
  return impl_->ChangePassphrase(old_passphrase, new_passphrase);
}
absl::Status Client::DeleteAccount(absl::string_view confirm_handle) {
  return impl_->DeleteAccount(confirm_handle);
}
absl::Status Client::Lock() { return impl_->Lock(); }
absl::Status Client::Unlock(absl::string_view passphrase) { return impl_->Unlock(passphrase); }
bool Client::IsLocked() { return impl_->IsLocked(); }

}  // namespace sotto
