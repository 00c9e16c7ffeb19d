// sotto::Client: the facade over the parts of client-lib/ (see
// docs/ARCHITECTURE.md). Each method checks what it can locally, then hands
// over to the part that holds the concept:
//   profile/   open, register, lock and unlock, delete (ProfileSession)
//   outgoing/  messages a person wrote (Sender) and receipts (ReceiptOutbox)
//   incoming/  Sync and Listen (Receiver)
//   identity/  safety numbers and identity changes
//   history/   the local history in the store
//   convert/   wire <-> public structs for the care and queue calls

#include "sotto/client.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client-lib/backup/auto_backup.h"
#include "client-lib/content/codec.h"
#include "client-lib/convert/wire_types.h"
#include "client-lib/history/history_book.h"
#include "client-lib/history/reply.h"
#include "client-lib/identity/identity_guard.h"
#include "client-lib/incoming/receiver.h"
#include "client-lib/outgoing/receipt_outbox.h"
#include "client-lib/outgoing/sender.h"
#include "client-lib/profile/handle.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/profile/registration.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/transport/address_policy.h"
#include "client-lib/transport/short_calls.h"
#include "sotto/email_address.h"
#include "sotto/invite.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace client {
// client_invites.cc: keeps a code CreateInvite made, for ListInvites.
absl::Status KeepInviteCode(ProfileSession& session, const Invite& invite);
}  // namespace client
namespace {

using client::ProfileSession;
using client::storage::LocalStore;
using client::transport::TlsConfig;
using v1::content::Content;

using client::content::NewMessageId;

}  // namespace

class Client::Impl {
 public:
  explicit Impl(std::unique_ptr<ProfileSession> session)
      : session_(std::move(session)),
        own_devices_(*session_),
        sender_(*session_, own_devices_),
        receipts_(*session_),
        receiver_(*session_, sender_, receipts_, own_devices_),
        auto_backup_(*session_) {}

  ProfileSession& session() { return *session_; }
  client::Sender& sender() { return sender_; }
  client::Receiver& receiver() { return receiver_; }
  client::ReceiptOutbox& receipts() { return receipts_; }
  client::OwnDevices& own_devices() { return own_devices_; }
  client::backup::AutoBackupRunner& auto_backup() { return auto_backup_; }

  absl::StatusOr<SendResult> Reply(absl::string_view id_prefix, absl::string_view body,
                                   const SendOptions& options) {
    client::StoredMessage original;
    {
      absl::MutexLock lock(&session_->mu);
      SOTTO_RETURN_IF_ERROR(session_->Enter());
      SOTTO_ASSIGN_OR_RETURN(auto found,
                             client::history::FindMessage(session_->store(), id_prefix));
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
    return sender_.Send(original.peer(), NewMessageId(), std::move(content), options);
  }

  absl::StatusOr<std::vector<SendResult>> SendToCareTeam(absl::string_view text,
                                                         const SendOptions& options) {
    if (static_cast<Role>(session_->profile().role()) != Role::kClient) {
      return absl::FailedPreconditionError(
          "only a client has a care team; a therapist writes to one client at a time");
    }
    SOTTO_ASSIGN_OR_RETURN(v1::ListLinksResponse links, session_->connection().ListLinks());
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
      Content content;
      content.mutable_text()->set_body(std::string(text));
      absl::StatusOr<SendResult> result =
          sender_.Send(therapist, NewMessageId(), std::move(content), options);
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
          absl::StrCat(
              "not sent to ", absl::StrJoin(failures, ", "),
              sent_to.empty() ? "" : absl::StrCat("; sent to ", absl::StrJoin(sent_to, ", "))));
    }
    return results;
  }

  absl::StatusOr<std::vector<Conversation>> ListConversations() {
    absl::MutexLock lock(&session_->mu);
    SOTTO_RETURN_IF_ERROR(session_->Enter());
    return client::history::ListConversations(session_->store());
  }

  absl::StatusOr<std::vector<Message>> ReadConversation(absl::string_view peer) {
    absl::MutexLock lock(&session_->mu);
    SOTTO_RETURN_IF_ERROR(session_->Enter());
    SOTTO_ASSIGN_OR_RETURN(
        client::history::ConversationRead read,
        client::history::ReadConversation(session_->store(), peer, session_->NowMs(),
                                          session_->read_receipts()));
    if (!read.newly_read.empty() && client::OwnDevices::MayHaveOthers(*session_)) {
      // Our other devices mark them read too, and send no read receipt of
      // their own for them; it goes with the next Sync, Listen or
      // SendPendingReceipts, as the read receipt does.
      for (size_t i = 0; i < read.newly_read.size(); i += client::content::kMaxReceiptIds) {
        Content sync;
        sync.set_sent_at_ms(session_->NowMs());
        v1::content::ReadSync* ids = sync.mutable_read_sync();
        ids->set_peer(std::string(peer));
        for (size_t j = i; j < read.newly_read.size() && j < i + client::content::kMaxReceiptIds;
             ++j) {
          ids->add_message_ids(read.newly_read[j]);
        }
        read.writes.push_back(client::OwnDevices::QueueWrite(session_->NowMs(), sync));
      }
    }
    if (!read.writes.empty()) SOTTO_RETURN_IF_ERROR(session_->store().Apply(read.writes));
    return std::move(read.messages);
  }

  absl::StatusOr<bool> ReadReceipts() {
    absl::MutexLock lock(&session_->mu);
    SOTTO_RETURN_IF_ERROR(session_->Enter());
    return session_->read_receipts();
  }

 private:
  std::unique_ptr<ProfileSession> session_;
  // Before the sender and receiver, which use it.
  client::OwnDevices own_devices_;
  client::Sender sender_;
  client::ReceiptOutbox receipts_;
  client::Receiver receiver_;
  // Last: its thread uses the session, so it stops first.
  client::backup::AutoBackupRunner auto_backup_;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
client::ProfileSession& Client::session() { return impl_->session(); }
client::backup::AutoBackupRunner& Client::auto_backup() { return impl_->auto_backup(); }
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
  SOTTO_RETURN_IF_ERROR(client::ValidateRegistration(options));
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store,
                         client::NewProfileStore(options.profile_dir, options.passphrase,
                                                 options.key_derivation));
  bool server_accepted = false;
  absl::StatusOr<std::unique_ptr<ProfileSession>> session =
      client::RegisterProfile(options, std::move(store), server_accepted);
  if (!session.ok()) {
    // Before the server accepted, the keys were never published and a
    // half-made profile would only stand in the way of the next attempt.
    // After, they are the account's only keys: keep them (the error says so).
    if (!server_accepted) {
      client::storage::DestroyEncryptedStore(options.profile_dir).IgnoreError();
    }
    return session.status();
  }
  (*session)->EnableLocking(options.profile_dir, options.auto_lock_after);
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(*session))));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Register(const RegisterOptions& options,
                                                         std::unique_ptr<LocalStore> store) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  bool server_accepted = false;
  SOTTO_ASSIGN_OR_RETURN(auto session,
                         client::RegisterProfile(options, std::move(store), server_accepted));
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(session))));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Open(const OpenOptions& options) {
  // Refuse a bad override before the passphrase is stretched (with TLS from
  // the profile, OpenProfile checks it again).
  const TlsConfig tls{options.tls_ca_pem, options.tls_system_roots, options.tls_crl_pem};
  if (!options.server_address.empty() && tls.enabled()) {
    SOTTO_RETURN_IF_ERROR(client::transport::CheckServerAddress(options.server_address, true));
  }
  // Whether the profile has TLS is known only once it is open.
  SOTTO_RETURN_IF_ERROR(client::ValidateCrl(options.tls_crl_pem, /*tls=*/true));
  if (!client::storage::EncryptedStoreExists(options.profile_dir)) {
    return absl::NotFoundError(
        absl::StrCat("no profile in ", options.profile_dir, " (create one with `sotto init`)"));
  }
  SOTTO_ASSIGN_OR_RETURN(
      std::unique_ptr<LocalStore> store,
      client::storage::OpenEncryptedStore(options.profile_dir, options.passphrase));
  SOTTO_ASSIGN_OR_RETURN(auto session, client::OpenProfile(std::move(store), options.server_address,
                                                           tls, options.clock));
  session->EnableLocking(options.profile_dir, options.auto_lock_after);
  std::unique_ptr<Client> client(new Client(std::make_unique<Impl>(std::move(session))));
  // Opening counts as use: an automatic backup that is due starts now.
  client->auto_backup().Reload();
  return client;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Open(std::unique_ptr<LocalStore> store,
                                                     std::string server_address) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  SOTTO_ASSIGN_OR_RETURN(
      auto session, client::OpenProfile(std::move(store), std::move(server_address), {}, nullptr));
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(session))));
}

std::unique_ptr<Client> Client::FromSession(std::unique_ptr<ProfileSession> session) {
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(session))));
}

const std::string& Client::handle() const { return impl_->session().profile().handle(); }
uint32_t Client::device_id() const { return impl_->session().profile().device_id(); }
Role Client::role() const { return static_cast<Role>(impl_->session().profile().role()); }
const std::string& Client::server_address() const { return impl_->session().server_address(); }

// ---- messages ----

absl::StatusOr<SendResult> Client::SendText(absl::string_view to, absl::string_view text,
                                            const SendOptions& options) {
  Content content;
  content.mutable_text()->set_body(std::string(text));
  impl_->auto_backup().Poke();
  return impl_->sender().Send(to, NewMessageId(), std::move(content), options);
}

absl::StatusOr<SendResult> Client::SendLetter(absl::string_view to, absl::string_view subject,
                                              absl::string_view body, const SendOptions& options) {
  std::string message_id = NewMessageId();
  Content content;
  v1::content::Letter* letter = content.mutable_letter();
  letter->set_subject(std::string(subject));
  letter->set_body(std::string(body));
  // A new thread: the letter is its own thread's first message.
  letter->set_thread_id(message_id);
  impl_->auto_backup().Poke();
  return impl_->sender().Send(to, std::move(message_id), std::move(content), options);
}

absl::StatusOr<SendResult> Client::Reply(absl::string_view id_prefix, absl::string_view body,
                                         const SendOptions& options) {
  return impl_->Reply(id_prefix, body, options);
}

absl::StatusOr<std::vector<SendResult>> Client::SendToCareTeam(absl::string_view text,
                                                               const SendOptions& options) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  return impl_->SendToCareTeam(text, options);
}

absl::Status Client::CancelScheduled(absl::string_view id_prefix) {
  return impl_->sender().Cancel(id_prefix);
}

absl::StatusOr<int> Client::RetryUnsent() {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  return impl_->sender().RetryUnsent(/*include_failed=*/true);
}

absl::StatusOr<SyncStats> Client::Sync() {
  impl_->auto_backup().Poke();
  return impl_->receiver().Sync();
}

absl::StatusOr<SyncStats> Client::Listen(absl::Duration idle_timeout,
                                         const std::function<bool(const Message&)>& on_message) {
  ListenHandlers handlers;
  handlers.on_message = on_message;
  return Listen(idle_timeout, handlers);
}

absl::StatusOr<SyncStats> Client::Listen(absl::Duration idle_timeout,
                                         const ListenHandlers& handlers) {
  impl_->auto_backup().Poke();
  return impl_->receiver().Listen(idle_timeout, handlers);
}

void Client::StopListening() { impl_->session().connection().CancelSubscriptions(); }

absl::StatusOr<std::vector<Conversation>> Client::ListConversations() {
  return impl_->ListConversations();
}

absl::StatusOr<std::vector<Message>> Client::ReadConversation(absl::string_view peer) {
  return impl_->ReadConversation(peer);
}

absl::Status Client::SendPendingReceipts() {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  // Someone waits on this (an app showing a conversation, `sotto read`):
  // a slow or unreachable server costs them seconds, not 15 s per call.
  client::transport::ShortCallsOnThisThread short_calls(absl::Seconds(3));
  impl_->receipts().FlushNow();
  impl_->own_devices().Flush();
  return absl::OkStatus();
}

// ---- care links, policy and the queue: validated here, answered by the server ----

absl::StatusOr<Invite> Client::CreateInvite(absl::Duration valid_for) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  uint32_t hours = 0;  // the server's default
  if (valid_for > absl::ZeroDuration()) {
    hours = static_cast<uint32_t>(
        std::min<int64_t>(absl::ToInt64Hours(valid_for + absl::Hours(1) - absl::Nanoseconds(1)),
                          std::numeric_limits<uint32_t>::max()));
  }
  SOTTO_ASSIGN_OR_RETURN(v1::CreateInviteResponse response,
                         impl_->session().connection().CreateInvite(hours));
  SOTTO_ASSIGN_OR_RETURN(std::string code, client::CommitInvite(impl_->session(), response.code()));
  Invite invite{std::move(code), response.expires_at_ms(), response.invite_id()};
  // The code is made and valid whatever happens here: failing to keep a
  // copy for ListInvites only leaves the list without it.
  client::KeepInviteCode(impl_->session(), invite).IgnoreError();
  return invite;
}

absl::StatusOr<std::string> Client::AcceptInvite(absl::string_view code) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  if (code.empty()) return absl::InvalidArgumentError("the invite code is empty");
  SOTTO_ASSIGN_OR_RETURN(InviteCode invite, ParseInviteCode(code));
  SOTTO_ASSIGN_OR_RETURN(v1::AcceptInviteResponse response,
                         impl_->session().connection().AcceptInvite(invite.server_code));
  SOTTO_RETURN_IF_ERROR(
      client::CheckServerHandle("the therapist in AcceptInvite", response.therapist()));
  if (absl::Status expected =
          client::ExpectInvitedIdentity(impl_->session(), response.therapist(), invite);
      !expected.ok()) {
    return absl::Status(expected.code(), absl::StrCat("linked with ", response.therapist(),
                                                      ", but ", expected.message()));
  }
  return response.therapist();
}

absl::StatusOr<std::vector<CareLink>> Client::ListLinks() {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_ASSIGN_OR_RETURN(v1::ListLinksResponse response, impl_->session().connection().ListLinks());
  return client::FromProto(response);
}

absl::Status Client::EndLink(absl::string_view peer) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidateHandle(peer));
  return impl_->session().connection().EndLink(std::string(peer));
}

absl::Status Client::SetPolicy(const ResponsePolicy& policy) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidatePolicy(policy));
  return impl_->session().connection().SetPolicy(client::ToProto(policy));
}

absl::StatusOr<PolicyView> Client::GetPolicy(absl::string_view therapist) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidateHandle(therapist));
  SOTTO_ASSIGN_OR_RETURN(v1::GetPolicyResponse response,
                         impl_->session().connection().GetPolicy(std::string(therapist)));
  return PolicyView{client::FromProto(response.policy()), response.emergency_note()};
}

absl::StatusOr<QueueView> Client::ListQueue(bool include_all) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_ASSIGN_OR_RETURN(v1::ListQueueResponse response,
                         impl_->session().connection().ListQueue(include_all));
  return client::FromProto(response);
}

absl::Status Client::Snooze(absl::string_view client, absl::Time until) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidateHandle(client));
  if (until <= impl_->session().Now()) {
    return absl::InvalidArgumentError("snooze until a time in the future");
  }
  return impl_->session()
      .connection()
      .Snooze(std::string(client), absl::ToUnixMillis(until))
      .status();
}

absl::Status Client::Close(absl::string_view client) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidateHandle(client));
  return impl_->session().connection().Close(std::string(client)).status();
}

absl::Status Client::Claim(absl::string_view client) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(client::ValidateHandle(client));
  return impl_->session().connection().Claim(std::string(client)).status();
}

// ---- email notifications ----

namespace {

NotificationSettings FromProto(const v1::NotificationSettings& in) {
  NotificationSettings out;
  switch (in.mode()) {
    case v1::NOTIFICATION_EACH_MESSAGE:
      out.mode = NotificationMode::kEachMessage;
      break;
    case v1::NOTIFICATION_DIGEST:
      out.mode = NotificationMode::kDigest;
      break;
    default:
      out.mode = NotificationMode::kOff;
  }
  out.email = in.email();
  out.digest_interval_minutes = in.digest_interval_minutes();
  out.server_sends_mail = in.server_sends_mail();
  return out;
}

}  // namespace

absl::StatusOr<NotificationSettings> Client::SetEmailNotifications(
    absl::string_view email, std::optional<absl::Duration> digest_interval) {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_RETURN_IF_ERROR(ValidateEmailAddress(email, "email"));
  v1::SetEmailRequest request;
  request.set_email(std::string(email));
  request.set_mode(digest_interval ? v1::NOTIFICATION_DIGEST : v1::NOTIFICATION_EACH_MESSAGE);
  if (digest_interval) {
    if (*digest_interval < absl::ZeroDuration() || *digest_interval > absl::Hours(7 * 24)) {
      return absl::InvalidArgumentError("digest interval must be 15 minutes to 7 days");
    }
    request.set_digest_interval_minutes(
        static_cast<uint32_t>(absl::ToInt64Minutes(*digest_interval)));
  }
  SOTTO_ASSIGN_OR_RETURN(v1::NotificationSettings stored,
                         impl_->session().connection().SetEmailNotifications(request));
  return FromProto(stored);
}

absl::Status Client::DisableNotifications() {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  return impl_->session().connection().DisableNotifications();
}

absl::StatusOr<NotificationSettings> Client::GetNotificationSettings() {
  SOTTO_RETURN_IF_ERROR(impl_->session().Check());
  SOTTO_ASSIGN_OR_RETURN(v1::NotificationSettings stored,
                         impl_->session().connection().GetNotifications());
  return FromProto(stored);
}

// ---- settings, identity and the account ----

absl::Status Client::SetReadReceipts(bool enabled) {
  return impl_->session().SetReadReceipts(enabled);
}
absl::StatusOr<bool> Client::ReadReceipts() { return impl_->ReadReceipts(); }

absl::StatusOr<SafetyNumberInfo> Client::SafetyNumber(absl::string_view peer) {
  return client::GetSafetyNumber(impl_->session(), peer);
}
absl::Status Client::MarkVerified(absl::string_view peer) {
  return client::MarkVerified(impl_->session(), peer);
}
absl::Status Client::AcceptIdentityChange(absl::string_view peer, absl::string_view safety_number) {
  return client::AcceptIdentityChange(impl_->session(), peer, safety_number);
}
absl::Status Client::ChangePassphrase(absl::string_view old_passphrase,
                                      absl::string_view new_passphrase) {
  return impl_->session().ChangePassphrase(old_passphrase, new_passphrase);
}
absl::Status Client::DeleteAccount(absl::string_view confirm_handle) {
  return impl_->session().DeleteAccount(confirm_handle);
}
absl::Status Client::Lock() { return impl_->session().Lock(); }
absl::Status Client::Unlock(absl::string_view passphrase) {
  return impl_->session().Unlock(passphrase);
}
bool Client::IsLocked() { return impl_->session().IsLocked(); }
absl::Status Client::NoteActivity() { return impl_->session().Check(); }

Client::BackgroundCalls::BackgroundCalls() { ProfileSession::BeginBackgroundCalls(); }
Client::BackgroundCalls::~BackgroundCalls() { ProfileSession::EndBackgroundCalls(); }

}  // namespace sotto
