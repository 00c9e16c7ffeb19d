#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLIENT_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLIENT_H_

/// @file
/// sotto::Client — the one object an app needs to message end-to-end encrypted.
///
/// A Client is one device of one account (a person in therapy or a therapist).
/// It keeps everything it knows in a local store that is encrypted at rest
/// under the user's passphrase: its identity and prekeys, Signal sessions, the
/// identities of people it has talked to, and the decrypted history. It talks
/// to a sotto-server, which only ever sees ciphertext.
///
/// Errors: every fallible call returns absl::Status / absl::StatusOr; nothing
/// throws. The codes follow Abseil's guide:
///   INVALID_ARGUMENT     the input can never work (empty text, bad handle)
///   NOT_FOUND            no such user, profile or conversation
///   ALREADY_EXISTS       a profile or handle that already exists
///   PERMISSION_DENIED    wrong passphrase
///   FAILED_PRECONDITION  fix state first (e.g. a contact's identity changed)
///   UNAVAILABLE          the server could not be reached; retry later
///   RESOURCE_EXHAUSTED   a server limit (e.g. the recipient's queue is full)
/// Messages name what was wrong.
///
/// Thread safety: all methods may be called from any thread. Local work on
/// one Client (the store, encryption) is serialized internally; no call holds
/// that lock while it waits for the server, so a slow network never delays
/// ListConversations, ReadConversation or an incoming message. Two Client objects must not open the
/// same profile directory at once (the second Open fails).
///
/// Sending from several threads: SendText, SendLetter and Reply may run on
/// many threads at once on one Client, and that is how an app sends many
/// messages quickly. Each send still stores its message durably before any
/// of it leaves the device, but sends waiting for the disk at the same time
/// share one sync of it (a commit queue), and their calls to the server
/// overlap. Messages sent one after another from one thread arrive in that
/// order; messages sent concurrently from different threads arrive in the
/// order the server took them. A single thread sending in a loop pays a disk
/// sync and a server round trip per message (issue 21, docs/BENCHMARKS.md
/// "Client throughput").

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sotto/clock.h"
#include "sotto/export.h"
#include "sotto/local_store.h"
#include "sotto/record.h"
#include "sotto/types.h"

namespace sotto {
namespace client {
class ProfileSession;
namespace backup {
class AutoBackupRunner;
}  // namespace backup
}  // namespace client
// Encrypted backups (sotto/backup.h defines these).
struct BackupOptions;
struct BackupResult;
struct RestoreOptions;
struct RestoreResult;
// Linked devices (sotto/devices.h defines these).
struct DeviceEntry;
struct LinkDeviceOptions;
struct JoinOptions;
struct JoinResult;
struct HistoryTicket;
struct HistoryProgress;
struct AutoBackupOptions;
struct AutoBackupSetup;
struct AutoBackupStatus;

/// How hard the passphrase is stretched (Argon2id) when a profile is created.
enum class KeyDerivation {
  /// libsodium's INTERACTIVE limits (64 MiB, ~60 ms here). The default.
  kInteractive,
  /// libsodium's minimum limits: for tests only; offers little protection.
  kFastForTestsOnly,
};

/// What Client::Register needs to create a profile and an account.
struct RegisterOptions {
  /// Directory for the encrypted local store; created, must not hold a profile.
  std::string profile_dir;
  /// The server, as host:port. Without TLS (no tls_ca_pem, no
  /// tls_system_roots) only a loopback host is accepted (127.0.0.0/8, ::1 or
  /// [::1], localhost): the device secret travels with every call. With TLS
  /// any host is.
  std::string server_address;
  /// TLS: the PEM of the CA certificate that signed the server's certificate,
  /// or the system's roots. Either turns TLS on; both are stored in the
  /// profile. The server must present a certificate for the address's host,
  /// valid now, chaining to that CA; otherwise every call fails (UNAVAILABLE)
  /// before any credential is sent, with a message naming the check that
  /// failed (e.g. "... is issued by CN=X, which is not the CA this client
  /// trusts", "... is not for HOST", "... expired on ...").
  std::string tls_ca_pem;
  /// TLS against the system's roots (see tls_ca_pem).
  bool tls_system_roots = false;
  /// TLS revocation: the PEM of one or more X.509 certificate revocation lists
  /// ("-----BEGIN X509 CRL-----" blocks, e.g. the file your provider's CA
  /// publishes; no hashing or directory needed — the library lays them out
  /// for gRPC itself). A server certificate, or a CA certificate in its
  /// chain, that a CRL here lists is refused like a wrong one: every call
  /// fails UNAVAILABLE naming the revocation, before any credential is sent.
  /// Only issuers with a CRL here are checked. Needs TLS (INVALID_ARGUMENT
  /// without, or when it does not parse). Stored in the profile. A CRL is
  /// current until its nextUpdate: after that every call fails
  /// FAILED_PRECONDITION ("... out of date") until a newer one is given
  /// (OpenOptions::tls_crl_pem), because revocation can no longer be checked.
  std::string tls_crl_pem;
  /// Automatic log-off: the Client locks itself (see Client::Lock) when no
  /// call was made for this long. InfiniteDuration turns it off. Only for
  /// profiles in a profile directory (an app-provided store is never locked).
  absl::Duration auto_lock_after = absl::Minutes(15);
  /// The clock the Client lives by (see sotto/clock.h); null: the system's.
  std::shared_ptr<const Clock> clock;
  /// The handle to register: 3..32 of [a-z0-9_-], starting with a letter.
  std::string handle;
  /// A client (person in therapy) or a therapist.
  Role role = Role::kClient;
  /// Protects the local store. Must not be empty.
  std::string passphrase;
  /// How hard the passphrase is stretched.
  KeyDerivation key_derivation = KeyDerivation::kInteractive;
  /// A therapist needs the one-time enrolment code the operator issued for
  /// `handle` (`sotto-server enrol-therapist`).
  std::string enrolment_code;
  /// A client needs a one-time invite code from their therapist; registering
  /// links them.
  std::string invite_code;
};

/// What Client::Open needs; the server and TLS settings are optional.
struct OpenOptions {
  /// The directory given at registration.
  std::string profile_dir;
  /// The passphrase that protects the profile.
  std::string passphrase;
  /// Overrides the server address recorded at registration (e.g. after a move);
  /// empty keeps it. Loopback only without TLS, as
  /// RegisterOptions::server_address.
  std::string server_address;
  /// Override the TLS settings recorded at registration (for this session; not
  /// stored): a non-empty tls_ca_pem or tls_system_roots replaces them.
  std::string tls_ca_pem;
  /// Trust the system's roots for this session (see tls_ca_pem).
  bool tls_system_roots = false;
  /// Fresh CRLs (PEM, as RegisterOptions::tls_crl_pem), e.g. the list the
  /// provider published this week. Unlike the CA override they are STORED:
  /// merged into the profile's CRLs, keeping per issuer the one issued later,
  /// so an older list never un-revokes a certificate. Empty keeps the stored
  /// ones. INVALID_ARGUMENT if it does not parse or the profile has no TLS.
  std::string tls_crl_pem;
  /// As RegisterOptions::auto_lock_after.
  absl::Duration auto_lock_after = absl::Minutes(15);
  /// The clock the Client lives by (see sotto/clock.h); null: the system's.
  std::shared_ptr<const Clock> clock;
};

/// One device of one account; see the file comment for errors and threads.
class SOTTO_EXPORT Client {
 public:
  /// Creates a new profile: generates the device's identity key, a signed
  /// prekey and 100 one-time prekeys, registers the account and the device with
  /// the server and stores everything in a new encrypted store under
  /// `options.profile_dir`. On failure nothing is left behind in that
  /// directory, and ALREADY_EXISTS means the handle (or the profile) is taken —
  /// with one exception: if the server accepted the registration but saving
  /// the profile locally failed, the error says that the handle is now taken
  /// on the server, and the store (with the account's keys, but no profile) is
  /// kept rather than destroyed. INVALID_ARGUMENT for a server address that is
  /// not loopback (nothing is created or sent then).
  static absl::StatusOr<std::unique_ptr<Client>> Register(const RegisterOptions& options);

  /// As above, but with a store the app provides (e.g. its own encrypted
  /// database); `store` must be empty. `options.profile_dir` and the
  /// passphrase are not used.
  static absl::StatusOr<std::unique_ptr<Client>> Register(
      const RegisterOptions& options, std::unique_ptr<client::storage::LocalStore> store);

  /// Opens an existing profile. PERMISSION_DENIED for a wrong passphrase (and
  /// nothing is changed); NOT_FOUND when the directory holds no profile (also
  /// after DeleteAccount wiped it); INVALID_ARGUMENT when the server address
  /// (given or recorded) is not loopback without TLS, or tls_crl_pem is
  /// refused. Does not contact the server.
  static absl::StatusOr<std::unique_ptr<Client>> Open(const OpenOptions& options);

  /// Opens a profile kept in an app-provided store.
  static absl::StatusOr<std::unique_ptr<Client>> Open(
      std::unique_ptr<client::storage::LocalStore> store, std::string server_address = "");

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  /// This account's handle. Answers also while locked or deleted.
  const std::string& handle() const;
  /// This device's id within the account.
  uint32_t device_id() const;
  /// Whether this account is a client or a therapist.
  Role role() const;
  /// The server this Client talks to: OpenOptions::server_address if one was
  /// given, else the address recorded at registration.
  const std::string& server_address() const;

  /// Encrypts `text` for every device of `to` and hands it to the server;
  /// returns once the server has stored it durably. Starts a Signal session
  /// from the server's key directory the first time, and repairs sessions when
  /// `to` has added or replaced devices. Retries on UNAVAILABLE with the same
  /// message id, so the recipient never gets it twice. INVALID_ARGUMENT if
  /// `text` is empty or longer than 4,096 bytes. FAILED_PRECONDITION, with
  /// nothing sent to anyone, if a device of `to` presents an identity key we
  /// do not trust: a changed key, or a new device of a contact whose key
  /// differs from the one we know ("<user> has a new device with an
  /// unverified identity key") — the user must verify it first.
  ///
  /// Nothing written is lost: once the text passes the checks above it is
  /// added to the local history before anything goes to the network. If the
  /// server cannot take it now (UNAVAILABLE, DEADLINE_EXCEEDED,
  /// RESOURCE_EXHAUSTED, ABORTED, or the profile locked meanwhile), the error
  /// comes back and the message stays in the history as kNotSent; the next
  /// SendText/SendLetter/Reply, Sync, Listen or RetryUnsent sends it, with the
  /// same message id and the same ciphertext, so it never arrives twice. If
  /// the server refuses it for good (e.g. PERMISSION_DENIED: no care link;
  /// FAILED_PRECONDITION: an identity change held), it is taken out of the
  /// history again and the error returned: the caller still has the text.
  /// A kNotSent message that a later retry finds refused for good stays as
  /// kFailed with the reason in Message::failure; RetryUnsent tries it again,
  /// CancelScheduled discards it. Messages still waiting go before this one.
  ///
  /// The profile's lock is not held while the server is called: other calls
  /// on this Client (ListConversations, ReadConversation, an incoming
  /// message) proceed while a send waits on the network.
  ///
  /// SendOptions::draft_id names the draft (SaveDraft) the text was written
  /// in: it is deleted once the message is safe (see SendOptions).
  absl::StatusOr<SendResult> SendText(absl::string_view to, absl::string_view text,
                                      const SendOptions& options = {});

  /// Sends an email-style letter (subject 1..200 bytes, body 1..48 KiB),
  /// starting a new thread. Otherwise as SendText.
  absl::StatusOr<SendResult> SendLetter(absl::string_view to, absl::string_view subject,
                                        absl::string_view body, const SendOptions& options = {});

  /// Answers the message whose id starts with `id_prefix` (at least 6 hex
  /// characters; INVALID_ARGUMENT if it matches several, NOT_FOUND if none):
  /// a letter gets a letter in the same thread ("Re: " + subject), a text gets
  /// a text.
  absl::StatusOr<SendResult> Reply(absl::string_view id_prefix, absl::string_view body,
                                   const SendOptions& options = {});

  /// A client writes to every therapist of their care team (one message each).
  /// FAILED_PRECONDITION when the caller is not a client or has no active
  /// link. If a send fails, the others are still attempted and the error
  /// names who did and did not get the message. `options` as for SendText
  /// (e.g. send later), the same for every therapist.
  absl::StatusOr<std::vector<SendResult>> SendToCareTeam(absl::string_view text,
                                                         const SendOptions& options = {});

  /// Cancels a scheduled message (found by id prefix, as Reply) before the
  /// server releases it, and marks it kCancelled locally. Also discards a
  /// message kept as kNotSent or kFailed (nothing goes to the server;
  /// FAILED_PRECONDITION while another call is sending it). NOT_FOUND if it
  /// was already released (or never scheduled); INVALID_ARGUMENT for a
  /// message someone else sent. The conversation list then shows the newest
  /// message that is not cancelled.
  absl::Status CancelScheduled(absl::string_view id_prefix);

  /// This device's outgoing messages still held by the server for later
  /// delivery (kScheduled, release time still ahead), the soonest first
  /// (Message::server_time_ms is the release time). Local: works offline
  /// and marks nothing read. Messages scheduled from another device of this
  /// account are not listed.
  absl::StatusOr<std::vector<Message>> ListScheduled();

  // ---- drafts ----
  // A draft is a message being written, kept in the profile's local store
  // encrypted like the history (never sent to the server), so that a letter
  // written at 2 a.m. survives a crash or a closed window. It is deleted when
  // a message is sent with SendOptions::draft_id naming it, or by
  // DeleteDraft (e.g. the C API, whose sends take no draft id).

  /// Stores `draft` (replacing the one with its id) with updated_ms = now
  /// and returns it as stored; an empty id gets a new random one.
  /// INVALID_ARGUMENT naming the field: id (not 1..64 of [a-z0-9_-]),
  /// subject (over 200 bytes), body (over 48 KiB), in_reply_to (over 64
  /// bytes or not hex), to (over 64 bytes). Empty fields are allowed: a
  /// draft is unfinished by nature. At most 1,000 drafts per profile
  /// (RESOURCE_EXHAUSTED names the limit; replacing one is always allowed).
  absl::StatusOr<Draft> SaveDraft(const Draft& draft);
  /// Every draft, the most recently saved first.
  absl::StatusOr<std::vector<Draft>> ListDrafts();
  /// Deletes the draft `id`. NOT_FOUND if there is none.
  absl::Status DeleteDraft(absl::string_view id);

  /// Sends every message kept as kNotSent or kFailed, oldest first (see
  /// SendText). Returns how many the server took; on failure, the first
  /// error (the others were still tried, unless the server was unreachable).
  absl::StatusOr<int> RetryUnsent();

  /// Care links. A therapist invites a client (new: the code goes to
  /// RegisterOptions::invite_code / `sotto init --invite`; existing: to
  /// AcceptInvite). The code is the server's one-time code followed by a
  /// commitment to this device's identity key (sotto/invite.h): hand it over
  /// out of band (in person, on paper, by phone), never through Sotto, so the
  /// client can check at first contact that the key the server gives out for
  /// you is yours.
  absl::StatusOr<Invite> CreateInvite(absl::Duration valid_for = absl::Hours(24 * 7));
  /// Links this client with the therapist whose invite `code` is, and returns
  /// that therapist. With a key commitment in the code (ParseInviteCode tells),
  /// the therapist's first key is checked against it (see "identity
  /// verification" below); without one, their first key is trusted on first
  /// use and they stay unverified — tell the user. INVALID_ARGUMENT for a
  /// malformed code (nothing is sent). FAILED_PRECONDITION, after linking, if
  /// the therapist's key is already known and does not match the commitment
  /// (its verification is cleared; the message says so).
  /// The therapist's handle the server sends back here, and every handle in
  /// ListLinks and ListQueue, is checked as a handle: an answer holding one
  /// that is not is refused (INTERNAL, naming the field).
  absl::StatusOr<std::string> AcceptInvite(absl::string_view code);
  /// A therapist's invites as the server keeps them, newest first: those
  /// still valid, and those used or expired in the last 30 days (older ones
  /// the server forgets). Only the caller's own invites; the code is filled
  /// in where this device created the invite (InviteInfo::code).
  /// PERMISSION_DENIED for a client.
  absl::StatusOr<std::vector<InviteInfo>> ListInvites();
  /// This user's care links, active and ended.
  absl::StatusOr<std::vector<CareLink>> ListLinks();
  /// Ends the care link with `peer`. NOT_FOUND if there is no active one.
  absl::Status EndLink(absl::string_view peer);

  /// Response policy: a therapist publishes theirs; anyone linked reads it.
  absl::Status SetPolicy(const ResponsePolicy& policy);
  /// Reads `therapist`'s policy. NOT_FOUND if none published.
  absl::StatusOr<PolicyView> GetPolicy(absl::string_view therapist);

  /// The therapist's queue.
  absl::StatusOr<QueueView> ListQueue(bool include_all = false);
  /// Snoozes the conversation with `client` until `until`.
  absl::Status Snooze(absl::string_view client, absl::Time until);
  /// Closes the conversation with `client` in the queue.
  absl::Status Close(absl::string_view client);
  /// Takes the conversation with `client` for this therapist.
  absl::Status Claim(absl::string_view client);

  /// Email notifications without content: the server mails `email` "You have
  /// a new message on Sotto" (never who wrote or what) when something waits
  /// and no device of this account is listening — at most one mail per the
  /// server's quiet period — or, with `digest_interval` (therapists only;
  /// 15 minutes to 7 days, zero for the server's default of 1 hour), at most
  /// that often "N people are waiting; the oldest is due at HH:MM". The
  /// server stores the address sealed and deletes it on
  /// DisableNotifications or with the account. Replaces an earlier setting;
  /// returns it as stored. Errors: INVALID_ARGUMENT naming `email` (empty,
  /// over 254 bytes, a control character such as CR/LF, a space, not
  /// `name@domain`) — checked here, before anything is sent — or the interval;
  /// PERMISSION_DENIED for a digest asked by a client; FAILED_PRECONDITION
  /// if the server sends no mail (no SMTP relay); those of every call.
  absl::StatusOr<NotificationSettings> SetEmailNotifications(
      absl::string_view email, std::optional<absl::Duration> digest_interval = std::nullopt);
  /// Turns notifications off and has the server delete the address. OK also
  /// when they were off.
  absl::Status DisableNotifications();
  /// This account's setting as the server holds it.
  absl::StatusOr<NotificationSettings> GetNotificationSettings();

  /// Whether this device tells senders when their messages were read
  /// (delivery receipts are always sent). Stored in the profile; on by default.
  absl::Status SetReadReceipts(bool enabled);
  /// Whether this device tells senders it read their messages.
  absl::StatusOr<bool> ReadReceipts();

  /// Fetches everything queued for this device, decrypts it, stores it in the
  /// local history (atomically with the Signal session state) and only then
  /// acknowledges it, so the server deletes it. Sends delivery receipts for
  /// what arrived and any read receipts still pending, applies receipts that
  /// came in to the sent messages' states, refills the server's stock of
  /// one-time prekeys and rotates the signed prekey when due.
  /// Receipts are never shown or counted as messages. Sending them is best
  /// effort and never fails the sync: one the server cannot take now stays
  /// queued for the next Sync/Listen; one it refuses for good (e.g. the care
  /// link ended) is dropped. Key maintenance does not fail it either (see
  /// SyncStats::maintenance_error).
  /// A message that decrypts but cannot be shown (it does not decode, or has a
  /// body of a kind this version does not know) is stored and counted as a
  /// text "[This message could not be read by this version of Sotto]".
  /// An envelope is acknowledged only once it is stored, or when it can never
  /// be decrypted (tampered, malformed, no session, a prekey we no longer
  /// have). A failure of the local store stops the sync with INTERNAL or
  /// UNAVAILABLE and leaves the envelope queued for the next one.
  absl::StatusOr<SyncStats> Sync();

  /// Like Sync, but keeps a stream open: delivers the backlog, then every new
  /// message as it arrives, calling `on_message` (from this thread) after each
  /// is stored. Returns when `on_message` returns false, when `idle_timeout`
  /// passes without a new message after the backlog was drained (time spent
  /// in `on_message` does not count), or on error. `on_message` is called
  /// without any lock held: it may call this Client (e.g. SendText to reply),
  /// and other threads' calls proceed while Listen waits. A connection that
  /// dies without closing (the network vanished) is noticed by keepalive
  /// pings: Listen then fails UNAVAILABLE within about 80 s (60 s of quiet,
  /// then 20 s for an answer), and may simply be called again.
  /// Messages that arrive together (the backlog, a burst) are stored under
  /// one disk sync and acknowledged together, as a Sync page, before any of
  /// them is shown; when `on_message` returns false, the rest of that batch
  /// is already in the history (ReadConversation) but is not shown to it.
  absl::StatusOr<SyncStats> Listen(absl::Duration idle_timeout,
                                   const std::function<bool(const Message&)>& on_message);
  /// What a Listen tells the app, each called on the Listen's thread after
  /// what it reports is durably stored (the burst's disk sync; its Ack as
  /// for on_message), in arrival order. Returning false stops the Listen as
  /// for on_message. An empty handler is skipped.
  struct ListenHandlers {
    /// A new message, as for Listen(idle_timeout, on_message).
    std::function<bool(const Message&)> on_message;
    /// One of our sent messages moved to kDelivered or kRead.
    std::function<bool(const ReceiptEvent&)> on_receipt;
    /// A contact's identity changed and their messages are held (the same
    /// notice is also in the returned SyncStats::notices).
    std::function<bool(const IdentityNotice&)> on_notice;
  };
  /// Listen with a handler for each kind of event (ListenHandlers); the
  /// rest as Listen(idle_timeout, on_message).
  absl::StatusOr<SyncStats> Listen(absl::Duration idle_timeout, const ListenHandlers& handlers);
  /// Ends every Listen running on this Client now, from any thread (for the
  /// C API's sotto_stop_listening): a Listen waiting for the next message
  /// returns CANCELLED at once; one inside `on_message` returns it after the
  /// callback. What it stored stays stored. A Listen whose stream is still
  /// being opened may be missed: call again until it has returned. No effect
  /// on a later Listen.
  void StopListening();

  /// Conversations with the newest activity first.
  absl::StatusOr<std::vector<Conversation>> ListConversations();

  /// Every message exchanged with `peer`, oldest first, and marks them read
  /// (read receipts, if enabled, go out with the next Sync, Listen batch or
  /// SendPendingReceipts). Works offline.
  /// NOT_FOUND if there has been no message with `peer`.
  absl::StatusOr<std::vector<Message>> ReadConversation(absl::string_view peer);

  /// Sends the receipts waiting to go out now (the read receipts
  /// ReadConversation queued, delivery receipts a Sync could not send),
  /// without fetching anything: an app calls it after showing a
  /// conversation, so the sender sees "read" at once rather than at this
  /// device's next Sync. Waits for a flush another thread is running, then
  /// sends what is still waiting. Best effort, as in Sync: a receipt the
  /// server cannot take now stays queued, one it refuses for good is
  /// dropped; OK either way. FAILED_PRECONDITION while locked.
  absl::Status SendPendingReceipts();

  // ---- identity verification (safety numbers) ----
  // Trust is per contact, and every device of theirs must present the one
  // trusted key. The first key: a client's therapist, when the invite carried
  // a key commitment, must present the committed key — any other is refused
  // (FAILED_PRECONDITION "... does not match the invite you joined with",
  // nothing sent or accepted) and held like a change below — and the
  // therapist is verified from the first message on. Every other contact's
  // first key is trusted on first use, unverified.
  // Every later change is HELD, verified contact or not: a changed key, or a
  // new device of a known contact presenting another key. Their new-key
  // messages stay queued on the server (SyncStats::held / held_from / a
  // kHeld notice), and SendText etc. to them fail with FAILED_PRECONDITION,
  // until the user compares the new safety number with the contact and
  // calls AcceptIdentityChange with that number. (Auto-accepting an
  // unverified contact's change would let a breached server swap in its own
  // key for anyone the user had not verified.)

  /// The safety number of this user and `peer`: for the pending new key if
  /// `peer`'s key changed (changed = true), else for the trusted key. Works
  /// offline. NOT_FOUND if no key of `peer` is known (no message exchanged).
  absl::StatusOr<SafetyNumberInfo> SafetyNumber(absl::string_view peer);
  /// Records that the user compared `peer`'s safety number (with the contact,
  /// in person or by video) for the trusted key. FAILED_PRECONDITION if a
  /// changed key is pending (accept it first) or no key is known.
  absl::Status MarkVerified(absl::string_view peer);
  /// Trusts `peer`'s new key instead of the old one — only if
  /// `safety_number` (60 digits, spaces allowed) is the safety number of the
  /// key pending now, i.e. the one SafetyNumber showed with changed = true —
  /// and clears the verification: held messages decrypt on the next
  /// Sync/Listen and sending resumes (new sessions). FAILED_PRECONDITION, and
  /// nothing changes, if `peer`'s key did not change, or if the pending key's
  /// number is not `safety_number` (another key was swapped in after the
  /// number was shown, or it was mistyped); INVALID_ARGUMENT if
  /// `safety_number` is not 60 digits.
  absl::Status AcceptIdentityChange(absl::string_view peer, absl::string_view safety_number);

  // ---- the clinical record (sotto/record.h, docs/RECORD.md) ----

  /// Exports the conversation with `peer` (messages in options' [from, to),
  /// oldest first) into `options.out_dir`: record.json (every message with
  /// its id, times, direction, subject, body, thread and delivery state; who
  /// exported it, the peer, the period, the export time and this account's
  /// identity key), record.html (the same to read and print) and record.sig
  /// (an XEdDSA signature by this device's identity key over a manifest of
  /// per-message digests, so that VerifyRecordExport can name a changed
  /// message). Made from the local history only: no call to the server, so
  /// it works offline; messages are not marked read. Files are created
  /// 0600, a new directory 0700; nothing is overwritten. On failure no file
  /// of the export is left. INVALID_ARGUMENT for a bad handle, no directory
  /// or from >= to; ALREADY_EXISTS if out_dir holds an export's file;
  /// FAILED_PRECONDITION if out_dir cannot be used (not a directory,
  /// permissions) or while locked; NOT_FOUND if there has been no message
  /// with `peer`.
  absl::StatusOr<RecordExportResult> ExportRecord(absl::string_view peer,
                                                  const RecordExportOptions& options);
  /// How `identity_key` (33 bytes, RecordVerification::signer_identity_key)
  /// compares with what this profile knows of `handle`: this account's own
  /// key, a contact's trusted key (verified or not), another key, or none.
  /// Local; INVALID_ARGUMENT for a bad handle.
  absl::StatusOr<RecordSignerMatch> CheckRecordSigner(absl::string_view handle,
                                                      absl::string_view identity_key);

  // ---- the account ----

  /// Deletes this user's account on the server, then this device's profile.
  /// `confirm_handle` must be the user's own handle (handle()), typed by the
  /// user as a guard against deleting by accident: otherwise INVALID_ARGUMENT
  /// and nothing is sent or deleted.
  ///
  /// The server deletes, in one atomic step, every device of the account with
  /// its keys, undelivered messages, held send-later messages, response policy
  /// and queue entries; care links stay, ENDED by this user, so the other
  /// side sees them end. Its audit trail keeps that the account was deleted
  /// (who, when; no content). The handle becomes free: someone — the same
  /// person on a new profile, or not — may register it again, with a new
  /// identity key, which contacts are warned about (identity notices).
  /// Messages already delivered to contacts stay on their devices.
  ///
  /// Once the server has confirmed, the local profile is wiped: for a profile
  /// directory, every file of the encrypted store is overwritten and deleted
  /// with the directory (Open then fails NOT_FOUND); for an app-provided
  /// store, every record the library wrote is deleted in one Apply. Keys,
  /// sessions and the message history are gone. The Client is unusable from
  /// then on: every call returns FAILED_PRECONDITION "... was deleted"
  /// (a running Listen ends with it; handle() and the other accessors still
  /// answer, IsLocked() is false); destroy it. If the wipe itself fails,
  /// the error says that the account is deleted on the server and which
  /// directory to remove by hand (the Client is unusable all the same).
  ///
  /// If the server refuses or cannot be reached, nothing local changes and
  /// the Client works as before. UNAVAILABLE can also mean that the server
  /// deleted the account but its answer was lost; calling again then fails
  /// UNAUTHENTICATED (the server no longer knows this device), and the
  /// profile is still there for the user to remove.
  /// FAILED_PRECONDITION while locked.
  absl::Status DeleteAccount(absl::string_view confirm_handle);

  // ---- local data ----

  /// Re-protects the profile's encrypted store under `new_passphrase`: the
  /// data key is re-wrapped in one synced write, so afterwards only the new
  /// passphrase opens the profile and on failure the old one still does.
  /// PERMISSION_DENIED if `old_passphrase` is wrong (nothing changes);
  /// INVALID_ARGUMENT for an empty new one; UNIMPLEMENTED for an app-provided
  /// store.
  absl::Status ChangePassphrase(absl::string_view old_passphrase, absl::string_view new_passphrase);
  /// Wipes the keys from memory: closes the encrypted store (its data key is
  /// zeroed), drops the Signal engine and the device secret. Every later call
  /// except Unlock/IsLocked/handle()/device_id()/role()/server_address()
  /// returns FAILED_PRECONDITION "locked" (a running Listen ends with it).
  /// Also happens by itself after `auto_lock_after` without a call (HIPAA
  /// automatic log-off). UNIMPLEMENTED for an app-provided store (the app
  /// owns its keys: destroy the Client instead). OK if already locked.
  absl::Status Lock();
  /// Reopens the store with `passphrase`. PERMISSION_DENIED if wrong (still
  /// locked). OK if not locked.
  absl::Status Unlock(absl::string_view passphrase);
  /// True while locked (also after the automatic lock). An automatic lock
  /// that is due but has not fired yet fires here (the keys leave memory),
  /// so the answer is what the next call would meet. Does not count as a
  /// call for the automatic lock.
  bool IsLocked();
  /// Counts as a call for the automatic lock and does nothing else: an app
  /// calls it when the person acts without needing the Client (scrolls a
  /// long letter, clicks), so the profile does not lock under them.
  /// FAILED_PRECONDITION while locked, or when the automatic lock was due
  /// (it fires here).
  absl::Status NoteActivity();

  /// While one lives, the calls its thread makes on any Client do not count
  /// as activity for the automatic lock (an automatic lock that is due still
  /// fires in them). An app wraps its own background work in one —
  /// refreshing a screen after a live event, polling, sending receipts,
  /// restarting Listen — so that a screen left open still locks. Nests.
  /// Destroy it on the thread that made it.
  class BackgroundCalls {
   public:
    /// Starts not counting this thread's calls as activity.
    BackgroundCalls();
    /// Counts them again (unless an outer one still lives).
    ~BackgroundCalls();
    BackgroundCalls(const BackgroundCalls&) = delete;
    BackgroundCalls& operator=(const BackgroundCalls&) = delete;
  };

  // ---- linked devices (sotto/devices.h, client_devices.cc) ----

  /// This account's devices, ascending by id, as the server lists them.
  /// UNAVAILABLE without the server; FAILED_PRECONDITION while locked.
  absl::StatusOr<std::vector<DeviceEntry>> ListDevices();
  /// Removes a device of this account (another one, or this one). The
  /// server drops its credentials, keys and queue at once: its next call
  /// fails UNAUTHENTICATED, and contacts' clients stop encrypting for it at
  /// their next send (the server answers that it is gone). NOT_FOUND for no
  /// such device; FAILED_PRECONDITION for the account's only device (delete
  /// the account instead). Removing this device leaves its local profile
  /// in place but unusable against the server.
  absl::Status RemoveDevice(uint32_t device_id);
  /// Links a new device to this account: opens a one-time slot on the
  /// server, hands options.on_code the code to show, waits (polling) for the
  /// new device to answer, checks that its answer was made with the code's
  /// secret, and seals to it the account's identity key pair, the link
  /// token and the contacts' trusted keys with their verifications. Returns
  /// once the sealed message is on the server (the new device then joins by
  /// itself). PERMISSION_DENIED, and nothing is sent, when the answer was
  /// not made with this code (the server or someone else substituted its
  /// key); DEADLINE_EXCEEDED when the code expired unused; CANCELLED when
  /// options.cancelled said so; FAILED_PRECONDITION while locked. Blocks;
  /// callbacks run on the calling thread.
  absl::Status LinkDevice(const LinkDeviceOptions& options);
  /// On the new device: makes a profile in a new directory from a code an
  /// existing device of the account shows (LinkDevice), joining the same
  /// account as a new device with the account's identity key. Blocks until
  /// the existing device's answer came (or options.wait_at_most passed:
  /// DEADLINE_EXCEEDED). Errors: INVALID_ARGUMENT for a mistyped code, a
  /// missing directory or passphrase, a bad device name or server address;
  /// ALREADY_EXISTS when the directory holds a profile; NOT_FOUND when the
  /// code is unknown, used or expired; DATA_LOSS when the answer does not
  /// open with the code (substituted or damaged: nothing is created).
  /// On failure the directory is left without a profile.
  static absl::StatusOr<JoinResult> JoinWithLinkCode(const JoinOptions& options);
  /// On a linked device: fetches the history archive `ticket` names
  /// (JoinResult::history), checks all of it, then adds its messages to
  /// this profile's history (a message whose id is here already is
  /// skipped, so a second import adds nothing). Returns the messages
  /// added. JoinWithLinkCode calls it unless told not to. The server
  /// deletes the archive as its last byte is fetched. Errors, each leaving
  /// the history as it was: NOT_FOUND (no such archive: fetched already,
  /// expired after 24 hours, or of another account), DATA_LOSS naming the
  /// damage (a chunk altered, the archive cut short) or PERMISSION_DENIED
  /// (not sealed under the ticket's key), FAILED_PRECONDITION (the archive
  /// is of another account, or this profile is locked). `on_progress` may
  /// be empty; it runs on the calling thread. Takes the profile's lock
  /// only for local work, in batches, so the Client stays usable.
  absl::StatusOr<uint64_t> ReceiveHistory(
      const HistoryTicket& ticket, const std::function<void(const HistoryProgress&)>& on_progress);

  // ---- backup (sotto/backup.h, docs/BACKUP.md) ----

  /// Writes the whole profile into one file encrypted under a new recovery
  /// key, returned once (see BackupOptions).
  absl::StatusOr<BackupResult> Backup(const BackupOptions& options);
  /// Brings a backed-up profile back into a new profile directory (see
  /// RestoreOptions).
  static absl::StatusOr<RestoreResult> Restore(const RestoreOptions& options);

  /// Turns automatic backups on, or changes where and how often they are
  /// written (see AutoBackupOptions). The first time (or with
  /// `new_recovery_key`) it makes a recovery key, returned once; later calls
  /// keep it. From then on a backup is written whenever the profile is used
  /// (opened, Sync, Listen, a send; a running agent or desk) and the last one
  /// is older than `every`: on a thread of its own, the profile's lock held
  /// only to snapshot the store, so sending goes on meanwhile.
  /// INVALID_ARGUMENT naming the option that is out of range or a `dir` that
  /// cannot be created or written. Thread-safe.
  absl::StatusOr<AutoBackupSetup> SetAutoBackup(const AutoBackupOptions& options);
  /// Turns automatic backups off (the files already written stay).
  absl::Status DisableAutoBackup();
  /// The settings and the last backup; `enabled` false when off.
  absl::StatusOr<AutoBackupStatus> GetAutoBackup();
  /// Writes an automatic backup now if one is due, waiting for it; returns
  /// the file written, or "" if none was due (or one is being written by the
  /// automatic run). The error of a failed attempt is also kept
  /// (AutoBackupStatus::last_error). FAILED_PRECONDITION when off.
  absl::StatusOr<std::string> BackUpIfDue();

 private:
  class Impl;
  // The profile, for the parts of the facade kept in their own files
  // (client_drafts.cc, client_invites.cc).
  client::ProfileSession& session();
  // A Client over a session made elsewhere (JoinWithLinkCode).
  static std::unique_ptr<Client> FromSession(std::unique_ptr<client::ProfileSession> session);
  client::backup::AutoBackupRunner& auto_backup();
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// When a reply to a message sent at `sent_at` would be due under `policy`:
/// the same computation the server makes for ReplyExpectation::due_ms and
/// QueueEntry::due_ms (one implementation, common/sotto/reply_due.h), for a
/// therapist's policy editor ("a message sent now would be due ..."). Needs
/// no Client and no network; thread-safe. INVALID_ARGUMENT naming the field
/// of a policy the server would refuse (as SetPolicy), or a time before 1970
/// or after 9999.
SOTTO_EXPORT absl::StatusOr<absl::Time> PreviewDue(const ResponsePolicy& policy,
                                                   absl::Time sent_at);

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_CLIENT_H_
