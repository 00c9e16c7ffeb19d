#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_TYPES_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_TYPES_H_

/// @file
/// The values sotto::Client takes and returns: messages, conversations,
/// queue entries, policies. Plain structs, copyable, with no behaviour.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "sotto/export.h"

namespace sotto {

/// The kind of account: a person in therapy or a therapist.
enum class Role { kClient = 1, kTherapist = 2 };

/// A short text, or an email-style letter with a subject and a thread.
enum class MessageKind { kText = 1, kLetter = 2 };

/// Where an outgoing message is. Incoming messages are always kDelivered.
enum class DeliveryState {
  /// Held by the server until `deliver_at_ms` (send later).
  kScheduled = 1,
  /// On the server, not yet on the recipient's device.
  kSent = 2,
  /// Stored on a recipient device (a delivery receipt came back).
  kDelivered = 3,
  /// The recipient opened it (if they share read receipts).
  kRead = 4,
  /// A scheduled message the sender cancelled, or an unsent one discarded.
  kCancelled = 5,
  /// Written, kept in the local history, but not on the server yet: the
  /// server could not be reached (or the profile locked) before it took the
  /// message. Sent by the next Send, Sync, Listen or RetryUnsent, with the
  /// same message id, so it never arrives twice.
  kNotSent = 6,
  /// A kNotSent message that the server refused for good when it was sent
  /// again (e.g. the care link ended meanwhile): kept in the local history
  /// so that the text is not lost, with the reason in Message::failure. Not
  /// retried by itself; RetryUnsent retries it, CancelScheduled discards it.
  kFailed = 7,
};

/// The state's stable lower-case name, as JSON output and clinical-record
/// exports write it: "scheduled", "sent", "delivered", "read", "cancelled",
/// "not_sent" or "failed" ("unknown" for a value outside the enum). Never
/// null; the string is static.
SOTTO_EXPORT const char* DeliveryStateName(DeliveryState state);

/// One message in a conversation, as this device knows it.
struct Message {
  /// The sender's message id, 32 lowercase hex characters.
  std::string id;
  /// The other party of the conversation.
  std::string peer;
  /// True if this account sent it: this device, or another device of the
  /// account (a sent transcript; see `from_device`).
  bool outgoing = false;
  /// Outgoing only: the id of the other device of this account that sent
  /// it (its sent transcript reached this device); 0 when this device sent
  /// it. Such a message can be cancelled only on the device that sent it.
  uint32_t from_device = 0;
  /// A text or a letter.
  MessageKind kind = MessageKind::kText;
  /// The text, or the letter's body.
  std::string text;
  /// Letters only.
  std::string subject;
  /// Letters only: the id of the message this answers (hex; empty if none),
  /// and of the first letter of its thread (its own id for a new thread).
  std::string in_reply_to;
  /// Letters only: the id of the first letter of the thread.
  std::string thread_id;
  /// When the server accepted it (Unix ms); for a scheduled message, when it
  /// is to be released.
  int64_t server_time_ms = 0;
  /// The sender's own clock when they wrote it (Unix ms); informational.
  int64_t sent_at_ms = 0;
  /// Where the message is (incoming ones: kDelivered).
  DeliveryState state = DeliveryState::kSent;
  /// kNotSent / kFailed: why the last attempt did not reach the server.
  std::string failure;
};

/// When to expect a reply, from the therapist's published policy.
struct ReplyExpectation {
  /// When to expect a reply (Unix ms).
  int64_t due_ms = 0;
  /// The therapist's reply window, in business minutes.
  uint32_t reply_window_minutes = 0;
  /// Non-empty while the therapist is away before the reply is due.
  std::string away_note;
  /// When the therapist's absence ends (Unix ms).
  int64_t away_until_ms = 0;
  /// The operator's reminder that Sotto is not for emergencies.
  std::string emergency_note;
};

/// Options of a send (SendText, SendLetter, Reply, SendToCareTeam).
struct SendOptions {
  /// Send later: the server holds the message until then. InfinitePast (the
  /// default) or any past time sends now.
  absl::Time deliver_at = absl::InfinitePast();
  /// The draft (Client::SaveDraft) this message was written in, or empty.
  /// It is deleted once the message is safe: the server took it, or it is
  /// kept in the history as kNotSent to go out later. A send that fails
  /// otherwise (bad input, a refusal for good: the caller still has only the
  /// draft) keeps it. SendToCareTeam deletes it once one therapist got the
  /// message. An id with no draft is ignored.
  std::string draft_id;
};

/// A receipt that moved one of our sent messages forward (Listen's
/// on_receipt): the peer's device stored it (kDelivered) or they opened it
/// (kRead).
struct ReceiptEvent {
  /// The id of our sent message.
  std::string message_id;
  /// Whom we sent it to.
  std::string peer;
  /// Its new state.
  DeliveryState state = DeliveryState::kDelivered;
  /// The stored copy after the change.
  Message message;
};

/// Something about a contact's identity key the user must be shown.
struct IdentityNotice {
  /// What the notice says.
  enum class Kind {
    /// No longer produced (before issue 22 an unverified contact's changed
    /// key was accepted automatically); kept so that apps still compile.
    kAccepted = 1,
    /// A contact's key changed (verified or not), a known contact has a new
    /// device with another key, or a therapist's first key does not match the
    /// invite: their messages are held on the server and sending to them
    /// stops until the user compares the safety number and calls
    /// AcceptIdentityChange with it.
    kHeld = 2,
  };
  /// The contact whose key it is about.
  std::string peer;
  /// What happened.
  Kind kind = Kind::kHeld;
  /// A sentence to show, naming the peer.
  std::string text;
};

/// A contact's safety number (Client::SafetyNumber).
struct SafetyNumberInfo {
  /// The contact.
  std::string peer;
  /// 60 digits (libsignal fingerprint, 5200 iterations), both sides' halves;
  /// identical on the contact's device when the keys are the ones they hold.
  /// Show as 12 groups of 5.
  std::string digits;
  /// The scannable form (libsignal's ScannableFingerprint, version 1,
  /// serialized): for a QR code. Raw bytes.
  std::string scannable;
  /// The user marked this key as compared (MarkVerified).
  bool verified = false;
  /// The number is for a NEW key of the contact that is not accepted yet
  /// (AcceptIdentityChange accepts exactly this key).
  bool changed = false;
};

/// What a send returns.
struct SendResult {
  /// The message as stored.
  Message message;
  /// Set for a client's message to a therapist.
  std::optional<ReplyExpectation> expectation;
  /// Always empty since every identity change is held (a send to a held
  /// contact fails instead); kept so that apps still compile.
  std::vector<IdentityNotice> notices;
};

/// An invite a therapist created (Client::CreateInvite).
struct Invite {
  /// The server's code and the therapist's key commitment, formatted
  /// (sotto/invite.h): what the client types.
  std::string code;
  /// When the invite expires (Unix ms).
  int64_t expires_at_ms = 0;
  /// The server's id for it (InviteInfo::id; 16 hex); empty from a server
  /// older than ListInvites.
  std::string id;
};

/// An invite as the server remembers it for the therapist who created it
/// (Client::ListInvites). Only the caller's own invites are ever listed.
struct InviteInfo {
  /// The server's id for the invite (16 lowercase hex characters), also in
  /// Invite::id. Not the code: the server keeps only a hash of the code.
  std::string id;
  /// The code as Client::CreateInvite returned it, if this device created
  /// it and still keeps it (the profile's encrypted store); empty otherwise
  /// (another device, or an invite used or expired more than 30 days ago).
  std::string code;
  /// When the invite was created (Unix ms, server time).
  int64_t created_ms = 0;
  /// When it expires or expired (Unix ms).
  int64_t expires_at_ms = 0;
  /// True once a client used it (registered or accepted with it).
  bool used = false;
  /// Who used it; empty while unused.
  std::string used_by;
  /// When it was used (Unix ms); 0 while unused.
  int64_t used_ms = 0;
};

/// A message being written, kept encrypted in the profile's local store
/// (Client::SaveDraft) so that nothing written is lost before it is sent.
struct Draft {
  /// 1..64 characters of [a-z0-9_-]; SaveDraft makes one (32 lowercase hex
  /// characters) when empty.
  std::string id;
  /// The recipient's handle as typed so far (may be empty; not checked).
  std::string to;
  /// A text or a letter.
  MessageKind kind = MessageKind::kText;
  /// Letters: the subject (at most 200 bytes).
  std::string subject;
  /// The text or the letter's body (at most 48 KiB, a letter's limit).
  std::string body;
  /// A reply's original message id (hex), or empty.
  std::string in_reply_to;
  /// When it was last saved (Unix ms, this device's clock); set by SaveDraft.
  int64_t updated_ms = 0;
};

/// A care link between a client and a therapist.
struct CareLink {
  /// The other party.
  std::string peer;
  /// False once either side ended the link.
  bool active = true;
  /// When the link was made (Unix ms).
  int64_t since_ms = 0;
  /// When the link ended (Unix ms); 0 while active.
  int64_t ended_ms = 0;
  /// Who ended the link; empty while active.
  std::string ended_by;
};

/// A therapist's response policy (see proto/sotto/v1/care.proto).
struct ResponsePolicy {
  std::string time_zone = "UTC";                    ///< IANA name
  std::vector<int> working_days = {1, 2, 3, 4, 5};  ///< ISO: 1 = Monday
  /// Start of working hours, minutes after midnight.
  int day_start_minute = 9 * 60;
  /// End of working hours, minutes after midnight.
  int day_end_minute = 17 * 60;
  int reply_window_minutes = 8 * 60;  ///< business minutes
  int64_t away_from_ms = 0;           ///< [from, until), 0 = none
  /// End of the absence (Unix ms); see away_from_ms.
  int64_t away_until_ms = 0;
  /// The note shown to clients during an absence.
  std::string away_note;
};

/// A therapist's policy as another user reads it (Client::GetPolicy).
struct PolicyView {
  /// The policy the therapist published.
  ResponsePolicy policy;
  /// The operator's reminder that Sotto is not for emergencies.
  std::string emergency_note;
};

/// A conversation's state in a therapist's queue.
enum class ConversationState { kWaiting = 1, kAnswered = 2, kSnoozed = 3, kClosed = 4 };

/// One client's conversation in a therapist's queue.
struct QueueEntry {
  /// The client's handle.
  std::string client;
  /// Waiting, answered, snoozed or closed.
  ConversationState state = ConversationState::kWaiting;
  /// When the oldest unanswered message arrived (Unix ms).
  int64_t oldest_waiting_ms = 0;
  /// Messages waiting for a reply.
  uint32_t waiting_count = 0;
  /// When the therapist last replied (Unix ms).
  int64_t last_reply_ms = 0;
  /// While snoozed: until when (Unix ms).
  int64_t snoozed_until_ms = 0;
  /// When a reply is due under the therapist's policy (Unix ms).
  int64_t due_ms = 0;
  /// True once due_ms has passed without a reply.
  bool overdue = false;
  /// The therapist who claimed the conversation; empty if none.
  std::string claimed_by;
};

/// A therapist's queue (Client::ListQueue).
struct QueueView {
  std::vector<QueueEntry> entries;  ///< oldest waiting first
  int64_t now_ms = 0;               ///< the server's clock
};

/// Email notifications without content (proto/sotto/v1/notifications.proto).
enum class NotificationMode { kOff = 1, kEachMessage = 2, kDigest = 3 };

/// The email notification setting, as the server stores it.
struct NotificationSettings {
  /// Off, one mail per waiting message, or a digest.
  NotificationMode mode = NotificationMode::kOff;
  std::string email;                     ///< empty when off
  uint32_t digest_interval_minutes = 0;  ///< 0 unless kDigest
  bool server_sends_mail = false;        ///< the server has an SMTP relay
};

/// One conversation, as ListConversations shows it.
struct Conversation {
  /// The other party.
  std::string peer;
  /// Time of the newest message (Unix ms, server time).
  int64_t last_activity_ms = 0;
  /// Number of messages in the conversation.
  uint32_t message_count = 0;
  /// Incoming messages not yet returned by ReadConversation.
  uint32_t unread_count = 0;
  /// The start of the newest message.
  std::string preview;
  /// True if the newest message was sent by this user.
  bool last_outgoing = false;
};

/// What a Sync or Listen met.
struct SyncStats {
  /// New messages decrypted and stored.
  int received = 0;
  /// Redelivered messages that had already been stored (dropped, not shown
  /// twice).
  int duplicates = 0;
  /// Envelopes that could not be decrypted, or whose sender (as the server
  /// gave it) is not a valid handle (dropped and acknowledged).
  int undecryptable = 0;
  /// Of `undecryptable`, the messages this device asked their sender's app
  /// to send again (a RESEND receipt, docs/PROTOCOL.md "Asking for a
  /// message again"): encrypted for a session this device no longer has,
  /// most often because it was restored from a backup. Each comes back,
  /// under its first id, with a later Sync or Listen once the sender's app
  /// has been online (at most three times per message).
  int asked_again = 0;
  /// Envelopes left on the server because their sender's identity key is not
  /// trusted (they stay queued until the user decides): a changed key, or a
  /// new device of a known contact presenting a key we do not trust.
  int held = 0;
  /// Messages kept as not sent (DeliveryState::kNotSent) that went out with
  /// this sync.
  int resent = 0;
  /// Messages this account sent from its other devices (sent transcripts)
  /// that were new here and are now in the history as outgoing messages.
  /// Not counted in `received`.
  int transcripts = 0;
  /// Empty, or why keeping this device's keys on the server failed
  /// (refilling one-time prekeys, rotating the signed prekey). Such a failure
  /// does not fail the Sync/Listen — the messages above are stored — and is
  /// retried on the next one; an app may show it if it persists.
  std::string maintenance_error;
  /// The senders of the held envelopes, each once, sorted.
  std::vector<std::string> held_from;
  /// The senders of the envelopes counted in `undecryptable` (those whose
  /// sender is a valid handle), each once, sorted. Most often a message sent
  /// to this device's keys before it was restored from a backup (the
  /// restored device starts new sessions; what was encrypted for the old
  /// ones cannot be read here, so it is asked for again: `asked_again`).
  std::vector<std::string> unreadable_from;
  /// Identity changes met in this sync: kHeld for each sender above.
  std::vector<IdentityNotice> notices;
};

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_TYPES_H_
