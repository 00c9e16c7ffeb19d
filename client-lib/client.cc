#include "sotto/client.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client-lib/content/codec.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/storage/local_store.h"
#include "client-lib/transport/connection.h"
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

constexpr char kProfileKey[] = "profile";
constexpr char kNextLocalSeqKey[] = "next_local_seq";
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
constexpr size_t kMessageIdBytes = 16;

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

Message ToMessage(const client::StoredMessage& stored) {
  Message m;
  m.id = absl::BytesToHexString(stored.message_id());
  m.peer = stored.peer();
  m.outgoing = stored.outgoing();
  m.server_time_ms = stored.server_time_ms();
  m.sent_at_ms = stored.content().sent_at_ms();
  if (stored.content().has_text()) m.text = stored.content().text().body();
  return m;
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
       client::Profile profile, std::string server_address)
      : store_(std::move(store)),
        engine_(std::move(engine)),
        profile_(std::move(profile)),
        connection_(std::move(server_address)) {
    connection_.SetCredentials(
        {profile_.handle(), profile_.device_id(), profile_.device_secret()});
  }

  const client::Profile& profile() const { return profile_; }

  // Registration: keys first (locally), then the server, then the profile.
  static absl::StatusOr<std::unique_ptr<Impl>> Register(
      const RegisterOptions& options, std::unique_ptr<LocalStore> store) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(options.handle));
    if (options.server_address.empty()) {
      return absl::InvalidArgumentError("a server address (host:port) is required");
    }
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

    v1::RegisterRequest request;
    request.set_handle(options.handle);
    request.set_role(options.role == Role::kTherapist ? v1::ROLE_THERAPIST
                                                       : v1::ROLE_CLIENT);
    request.set_device_secret(profile.device_secret());
    request.set_registration_id(registration_id);
    v1::DeviceKeys* keys = request.mutable_keys();
    keys->set_identity_key(identity_key);
    FillSignedPreKey(signed_prekey, keys->mutable_signed_prekey());
    for (const auto& prekey : prekeys) {
      v1::OneTimePreKey* out = keys->add_one_time_prekeys();
      out->set_id(prekey.id);
      out->set_public_key(prekey.public_key);
    }
    Connection connection(options.server_address);
    SOTTO_ASSIGN_OR_RETURN(v1::RegisterResponse response, connection.Register(request));
    profile.set_device_id(response.device_id());
    SOTTO_RETURN_IF_ERROR(
        store->Apply({Write{Space::kMeta, kProfileKey, profile.SerializeAsString()}}));
    std::string address = options.server_address;
    return std::make_unique<Impl>(std::move(store), std::move(engine),
                                  std::move(profile), std::move(address));
  }

  static absl::StatusOr<std::unique_ptr<Impl>> Open(std::unique_ptr<LocalStore> store,
                                                    std::string server_address) {
    SOTTO_ASSIGN_OR_RETURN(auto profile,
                           LoadProto<client::Profile>(*store, Space::kMeta, kProfileKey));
    if (!profile) return absl::NotFoundError("the store holds no Sotto profile");
    SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(store.get()));
    if (server_address.empty()) server_address = profile->server_address();
    return std::make_unique<Impl>(std::move(store), std::move(engine),
                                  std::move(*profile), std::move(server_address));
  }

  absl::StatusOr<Message> SendText(absl::string_view to, absl::string_view text) {
    SOTTO_RETURN_IF_ERROR(ValidateHandle(to));
    if (to == profile_.handle()) {
      return absl::InvalidArgumentError("you cannot send a message to yourself");
    }
    v1::content::Content content;
    content.set_sent_at_ms(NowMs());
    content.mutable_text()->set_body(std::string(text));
    SOTTO_RETURN_IF_ERROR(client::content::ValidateContent(content));
    const std::string plaintext = client::content::EncodeContent(content);

    absl::MutexLock lock(&mu_);
    v1::SendRequest request;
    request.set_recipient(std::string(to));
    request.set_message_id(RandomBytes(kMessageIdBytes));
    for (int attempt = 0; attempt < kSendRepairAttempts; ++attempt) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices,
                             engine_->SessionDevices(to));
      if (devices.empty()) {
        SOTTO_RETURN_IF_ERROR(StartSessions(to, /*only=*/{}));
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
      if (outcome.response) {
        client::StoredMessage stored;
        stored.set_message_id(request.message_id());
        stored.set_peer(std::string(to));
        stored.set_outgoing(true);
        stored.set_server_time_ms(outcome.response->server_time_ms());
        *stored.mutable_content() = content;
        SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes, HistoryWrites(stored));
        SOTTO_RETURN_IF_ERROR(store_->Apply(writes));
        return ToMessage(stored);
      }
      SOTTO_RETURN_IF_ERROR(RepairSessions(to, *outcome.mismatch));
    }
    return absl::AbortedError(absl::StrCat(
        "the devices of '", to, "' kept changing while sending; try again"));
  }

  absl::StatusOr<SyncStats> Sync() {
    absl::MutexLock lock(&mu_);
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
    SOTTO_RETURN_IF_ERROR(MaintainKeys());
    return stats;
  }

  absl::StatusOr<SyncStats> Listen(absl::Duration idle_timeout,
                                   const std::function<bool(const Message&)>& on_message) {
    absl::MutexLock lock(&mu_);
    SyncStats stats;
    std::unique_ptr<client::transport::Subscription> subscription =
        connection_.Subscribe();

    // A watchdog ends the stream once it has been idle for `idle_timeout`
    // after the backlog: a blocking Read() has no timeout of its own.
    absl::Mutex idle_mu;
    absl::Time last_activity = absl::Now();
    bool drained = false;
    absl::Notification done;
    std::atomic<bool> timed_out{false};
    std::thread watchdog([&] {
      while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
        absl::MutexLock idle_lock(&idle_mu);
        if (drained && absl::Now() - last_activity >= idle_timeout) {
          timed_out = true;
          subscription->Cancel();
          return;
        }
      }
    });
    auto stop_watchdog = [&] {
      done.Notify();
      watchdog.join();
    };

    bool stopped_by_caller = false;
    absl::Status error;
    while (auto event = subscription->Read()) {
      {
        absl::MutexLock idle_lock(&idle_mu);
        last_activity = absl::Now();
        if (event->has_drained()) drained = true;
      }
      if (!event->has_envelope()) continue;
      std::optional<Message> message;
      absl::StatusOr<bool> ack = Process(event->envelope(), stats, &message);
      if (!ack.ok()) {
        error = ack.status();
        break;
      }
      if (*ack) {
        if (absl::Status s = connection_.Ack({event->envelope().seq()}).status(); !s.ok()) {
          error = s;
          break;
        }
      }
      if (message && !on_message(*message)) {
        stopped_by_caller = true;
        break;
      }
    }
    stop_watchdog();
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
    SOTTO_RETURN_IF_ERROR(MaintainKeys());
    return stats;
  }

  absl::StatusOr<std::vector<Conversation>> ListConversations() {
    absl::MutexLock lock(&mu_);
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
    const std::string blinded = store_->Blind(peer);
    SOTTO_ASSIGN_OR_RETURN(auto summary, LoadProto<client::ConversationSummary>(
                                             *store_, Space::kConversation, blinded));
    if (!summary) {
      return absl::NotFoundError(absl::StrCat("no conversation with '", peer, "'"));
    }
    SOTTO_ASSIGN_OR_RETURN(auto entries, store_->Scan(Space::kHistory, blinded));
    std::vector<Message> out;
    out.reserve(entries.size());
    for (const auto& entry : entries) {
      client::StoredMessage stored;
      if (!stored.ParseFromString(entry.value)) {
        return absl::DataLossError(
            absl::StrCat("a local message with '", peer, "' is corrupt"));
      }
      out.push_back(ToMessage(stored));
    }
    if (summary->unread_count() != 0) {
      summary->set_unread_count(0);
      SOTTO_RETURN_IF_ERROR(store_->Apply(
          {Write{Space::kConversation, blinded, summary->SerializeAsString()}}));
    }
    return out;
  }

 private:
  static void FillSignedPreKey(const client::signal::SignedPreKeyData& in,
                               v1::SignedPreKey* out) {
    out->set_id(in.id);
    out->set_public_key(in.public_key);
    out->set_signature(in.signature);
  }

  // Fetches `to`'s bundles and starts a session with each device in `only`
  // (every device when `only` is empty).
  absl::Status StartSessions(absl::string_view to, const absl::btree_set<uint32_t>& only)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SOTTO_ASSIGN_OR_RETURN(v1::GetBundleResponse bundles,
                           connection_.GetBundle(std::string(to)));
    for (const v1::PreKeyBundle& in : bundles.devices()) {
      if (!only.empty() && !only.contains(in.device_id())) continue;
      client::signal::Bundle bundle;
      bundle.device_id = in.device_id();
      bundle.registration_id = in.registration_id();
      bundle.identity_key = in.identity_key();
      bundle.signed_prekey_id = in.signed_prekey().id();
      bundle.signed_prekey_public = in.signed_prekey().public_key();
      bundle.signed_prekey_signature = in.signed_prekey().signature();
      if (in.has_one_time_prekey()) {
        bundle.one_time_prekey = client::signal::OneTimePreKeyData{
            in.one_time_prekey().id(), in.one_time_prekey().public_key()};
      }
      SOTTO_RETURN_IF_ERROR(
          engine_->ProcessBundle(Address{std::string(to), in.device_id()}, bundle));
    }
    return absl::OkStatus();
  }

  absl::Status RepairSessions(absl::string_view to, const v1::DeviceMismatch& mismatch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::btree_set<uint32_t> fetch;
    for (uint32_t device : mismatch.extra_devices()) {
      SOTTO_RETURN_IF_ERROR(engine_->DeleteSession(Address{std::string(to), device}));
    }
    for (uint32_t device : mismatch.stale_devices()) {
      SOTTO_RETURN_IF_ERROR(engine_->DeleteSession(Address{std::string(to), device}));
      fetch.insert(device);
    }
    for (uint32_t device : mismatch.missing_devices()) fetch.insert(device);
    if (fetch.empty()) return absl::OkStatus();
    return StartSessions(to, fetch);
  }

  // The writes that add `stored` to the history and update its
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
      updated.set_preview(Preview(stored.content().text().body()));
      updated.set_last_outgoing(stored.outgoing());
    }
    return std::vector<Write>{
        Write{Space::kMeta, kNextLocalSeqKey, BigEndian64(seq + 1)},
        Write{Space::kHistory, blinded + BigEndian64(seq), stored.SerializeAsString()},
        Write{Space::kConversation, blinded, updated.SerializeAsString()},
    };
  }

  // Decrypts and stores one envelope. Returns whether to acknowledge it.
  // Errors only for failures of our own (local store, I/O), which leave the
  // envelope queued for the next sync.
  absl::StatusOr<bool> Process(const v1::Envelope& envelope, SyncStats& stats,
                               std::optional<Message>* delivered)
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
    bool content_ok = false;
    absl::Status history_error;
    auto on_plaintext = [&](absl::string_view plaintext) -> std::vector<Write> {
      absl::StatusOr<v1::content::Content> content =
          client::content::DecodeContent(plaintext);
      if (!content.ok()) return {};
      stored.set_message_id(envelope.message_id());
      stored.set_peer(envelope.sender());
      stored.set_peer_device(envelope.sender_device());
      stored.set_outgoing(false);
      stored.set_server_time_ms(envelope.server_time_ms());
      *stored.mutable_content() = std::move(*content);
      absl::StatusOr<std::vector<Write>> writes = HistoryWrites(stored);
      if (!writes.ok()) {
        history_error = writes.status();
        return {};
      }
      content_ok = true;
      return std::move(*writes);
    };
    absl::StatusOr<std::string> plaintext =
        engine_->Decrypt(from, ciphertext, on_plaintext);
    if (!history_error.ok()) return history_error;
    if (plaintext.ok()) {
      if (!content_ok) {
        ++stats.undecryptable;
      } else {
        ++stats.received;
        if (delivered) *delivered = ToMessage(stored);
      }
      return true;
    }
    switch (plaintext.status().code()) {
      case absl::StatusCode::kAlreadyExists:
        ++stats.duplicates;
        return true;
      case absl::StatusCode::kFailedPrecondition:
        ++stats.held;
        return false;
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kDataLoss:
        ++stats.undecryptable;
        return true;
      default:
        return plaintext.status();
    }
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
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<Engine> engine_ ABSL_PT_GUARDED_BY(mu_);
  const client::Profile profile_;
  Connection connection_;
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
  SOTTO_RETURN_IF_ERROR(ValidateHandle(options.handle));
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
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Register(options, std::move(store));
  if (!impl.ok()) {
    // The keys were never published; a half-made profile would only stand in
    // the way of the next attempt.
    client::storage::DestroyEncryptedStore(options.profile_dir).IgnoreError();
    return impl.status();
  }
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Register(
    const RegisterOptions& options, std::unique_ptr<LocalStore> store) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  SOTTO_ASSIGN_OR_RETURN(auto impl, Impl::Register(options, std::move(store)));
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Open(const OpenOptions& options) {
  if (!client::storage::EncryptedStoreExists(options.profile_dir)) {
    return absl::NotFoundError(absl::StrCat("no profile in ", options.profile_dir,
                                            " (create one with `sotto init`)"));
  }
  SOTTO_ASSIGN_OR_RETURN(
      std::unique_ptr<LocalStore> store,
      client::storage::OpenEncryptedStore(options.profile_dir, options.passphrase));
  SOTTO_ASSIGN_OR_RETURN(auto impl, Impl::Open(std::move(store), options.server_address));
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

absl::StatusOr<Message> Client::SendText(absl::string_view to, absl::string_view text) {
  return impl_->SendText(to, text);
}
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

}  // namespace sotto
