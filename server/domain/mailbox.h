#ifndef SOTTO_SERVER_DOMAIN_MAILBOX_H_
#define SOTTO_SERVER_DOMAIN_MAILBOX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/care.h"
#include "server/domain/clock.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/limits.h"
#include "server/domain/queue_listeners.h"
#include "server/domain/records.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct MailboxOptions {
  // Per-device queue limit; tests lower it.
  uint64_t max_queue_depth = kMaxQueueDepth;
  // Per-device queue limit in stored bytes.
  uint64_t max_queue_bytes = kMaxQueueBytes;
  // Undelivered envelopes older than this are deleted by
  // SweepExpiredEnvelopes; 0 keeps them forever.
  int64_t retention_ms = kDefaultRetentionMs;
  // Held send-later messages per sending device; tests lower it.
  size_t max_scheduled_per_device = kMaxScheduledPerDevice;
  // Sequence numbers given out from now on are at least this. Sends are
  // written before their log sync (group commit), so a device may see an
  // envelope whose write a power failure then loses; its seq must never be
  // given to another envelope, or the device's Ack of it would delete that
  // one unseen. sotto-server passes (its start time in Unix ms) << 20, which
  // moves every queue past anything handed out before a restart (unless a
  // queue took over 2^20 envelopes per millisecond of uptime). 0 in tests.
  uint64_t seq_floor = 0;
};

// Same numbers as sotto.v1.SendKind.
enum class SendKind : int { kMessage = 0, kReceipt = 1, kSync = 2 };

struct SendOptions {
  // A receipt is delivered like a message but never touches the queue index
  // and cannot be scheduled. A sync goes from one device of an account to
  // its other devices (sent transcripts, read state): to the sender's own
  // handle only, covering every device but the sender's, never indexed,
  // never scheduled, never notified.
  SendKind kind = SendKind::kMessage;
  // Send later: hold until this Unix ms time if it is after now.
  int64_t deliver_at_ms = 0;
};

struct SendResult {
  int64_t server_time_ms = 0;
  bool duplicate = false;     // a retry of a send already stored
  int64_t deliver_at_ms = 0;  // a scheduled send's release time, else 0
  // For a client's message to a therapist (not on duplicates).
  std::optional<ReplyExpectation> expectation;
};

struct FetchResult {
  std::vector<StoredEnvelope> envelopes;  // ascending seq
  bool more = false;                      // more follow the last one
};

// Store-and-forward of ciphertext envelopes, one queue per device. The queue
// a call touches is always chosen from the authenticated caller, never from
// request data. Thread-safe. Does not own `store`, `accounts` or `clock`;
// they must outlive it.
class Mailbox {
 public:
  using ListenerId = QueueListeners::Id;

  // With `care` and `conversations` (the server always passes both), Send
  // enforces care links (Care::CheckCanMessage) and keeps the therapist's
  // queue index; without them any two users may exchange messages (for
  // storage-level tests only).
  Mailbox(Store* store, Accounts* accounts, Clock* clock, MailboxOptions options = {},
          Care* care = nullptr, ConversationQueue* conversations = nullptr);
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues one envelope per device of `recipient`, stamped with the sender
  // and server time, together with the queue counters and the idempotency
  // record in one atomic synced write; returns only when it is durable.
  // A retry with the same (sender device, message_id), recipient and
  // envelopes (device ids, types, ciphertexts) within kIdempotencyRetentionMs
  // (of the send, or of a send-later release) returns the first result with
  // duplicate=true and queues nothing; the same id with another recipient or
  // other envelopes is INVALID_ARGUMENT "message id ... was already used for
  // a different message". Errors: INVALID_ARGUMENT (message id, envelope count,
  // type, ciphertext size, device listed twice, malformed recipient
  // handle), NOT_FOUND (no such recipient), FAILED_PRECONDITION with a DeviceMismatch payload
  // (device_mismatch.h), RESOURCE_EXHAUSTED (a queue is full; names it),
  // and those of Care::CheckCanMessage. The queue index of a client's or
  // therapist's MESSAGE is updated in the same write
  // (ConversationQueue::AddMessageInto).
  //
  // With options.deliver_at_ms after now (send later), the same checks run,
  // then the envelopes are held in the scheduled table (with the idempotency
  // record, atomically), invisible to the recipient and the queue index,
  // until ReleaseDue. INVALID_ARGUMENT for a receipt or a time more than
  // kMaxScheduleAheadMs ahead; RESOURCE_EXHAUSTED when the sending device
  // already holds max_scheduled_per_device (kMaxScheduledPerDevice).
  absl::StatusOr<SendResult> Send(const AuthenticatedDevice& sender, absl::string_view recipient,
                                  absl::string_view message_id,
                                  const std::vector<OutgoingEnvelope>& envelopes,
                                  SendOptions options = {});

  // Send for a caller that must not wait for the disk (the server's
  // handler; group commit). Runs the same steps and writes kBuffered, then
  // calls `done` exactly once: with the error at once (on the calling
  // thread) if the Send is refused or its write fails; else once the write
  // is durable (Store::WhenDurable, possibly on another thread), after the
  // recipient queues' listeners have heard of it, with the result; or, if
  // that sync fails, UNAVAILABLE (retry with the same message id). A
  // duplicate also waits: the first attempt's write may still be on its way
  // to the disk. Besides Send's errors: RESOURCE_EXHAUSTED "server busy;
  // retry" while the store is backlogged (Store::Backlogged), before
  // anything is written. `done` must be quick.
  using SendDone = std::function<void(absl::StatusOr<SendResult>)>;
  void Send(const AuthenticatedDevice& sender, absl::string_view recipient,
            absl::string_view message_id, const std::vector<OutgoingEnvelope>& envelopes,
            SendOptions options, SendDone done);

  // Accounts::RemoveDevice while holding this mailbox's locks of the
  // device's queue and of its send-later messages, so a Send either lands
  // before the removal (and is deleted with the queue) or finds the device
  // gone; none adds to a queue mid-removal. Errors as RemoveDevice.
  absl::Status RemoveDevice(const AuthenticatedDevice& caller, uint32_t device_id,
                            const CallContext& call = {});

  // Deletes the caller's held send-later message `message_id` (and its
  // idempotency record, so the id may be reused). Errors: INVALID_ARGUMENT
  // (message id length), NOT_FOUND (never scheduled, released or cancelled).
  absl::Status CancelScheduled(const AuthenticatedDevice& caller, absl::string_view message_id);

  // Releases every held message due at the clock's now, oldest first, each
  // in one atomic write: envelopes into the recipient queues (stamped with
  // the release time) and the queue index updated. Written unsynced under
  // the queue locks; each batch of releases is synced after the locks are
  // released, and only then are the listeners notified.
  // A message whose care link is no longer active (or was ended and made
  // again after the message was accepted), whose sender or recipient is
  // gone or deactivated, is dropped; devices removed since are skipped. A
  // message that would take a recipient queue past its quota
  // (max_queue_depth, max_queue_bytes) stays held and is tried again
  // kHeldRetryMs later. Returns the release time of the next held message,
  // nullopt if none.
  absl::StatusOr<std::optional<int64_t>> ReleaseDue();

  // Deletes every idempotency record past its retention (limits.h) at the
  // clock's now; returns how many. Records are honoured until then whether or
  // not this runs. Errors: storage failures, DATA_LOSS for a malformed record.
  absl::StatusOr<size_t> SweepIdempotency();

  // Deletes undelivered envelopes stored more than options.retention_ms ago
  // (by the clock's now), fixing their queues' counts; returns how many. No
  // one is notified: the sender learns nothing per envelope. Errors: storage
  // failures, DATA_LOSS for a malformed record.
  absl::StatusOr<size_t> SweepExpiredEnvelopes();

  // Deletes the queue-meta tombstones of devices removed more than
  // kRemovedQueueKeepMs ago (wall time, as RemoveDevice stamps them), each
  // expecting it as read; returns how many. Until then a Send that read the
  // device list before the removal finds the tombstone (QueueInto).
  absl::StatusOr<size_t> SweepRemovedQueues();
  static constexpr int64_t kRemovedQueueKeepMs = int64_t{24} * 3600 * 1000;

  // Calls `on_scheduled(deliver_at_ms)` after each newly held message (the
  // releaser wakes up). Set once, before serving.
  void SetScheduleListener(std::function<void(int64_t)> on_scheduled);

  // Calls `on_message(recipient)` once a new MESSAGE for `recipient` is
  // durable and its queues' listeners have heard of it: after each Send of
  // kind kMessage that queued something (not a duplicate, not held) and
  // each release of a held one. Not for receipts. For the notifier
  // (server/notify): must be quick. Set once, before serving.
  void SetMessageListener(std::function<void(absl::string_view recipient)> on_message);

  // Up to `limit` (0: kDefaultFetchBatch) envelopes of the caller's queue with
  // seq > after_seq, oldest first, and at most about kMaxFetchBytes.
  // Errors: INVALID_ARGUMENT (limit > kMaxFetchBatch).
  absl::StatusOr<FetchResult> Fetch(const AuthenticatedDevice& caller, uint64_t after_seq,
                                    uint32_t limit);

  // Deletes the listed envelopes from the caller's own queue, synced;
  // unknown seqs are ignored. Returns how many were deleted. Errors:
  // INVALID_ARGUMENT (more than kMaxAckBatch seqs).
  absl::StatusOr<uint32_t> Ack(const AuthenticatedDevice& caller,
                               const std::vector<uint64_t>& seqs);
  // The same without waiting for the disk: writes kBuffered and calls
  // `done` exactly once, with an error at once, or once the deletion is
  // durable (Store::WhenDurable) with the count, or UNAVAILABLE if that
  // sync fails (ack again).
  using AckDone = std::function<void(absl::StatusOr<uint32_t>)>;
  void Ack(const AuthenticatedDevice& caller, const std::vector<uint64_t>& seqs, AckDone done);

  // Calls `on_new` once what was added to the queue of handle.device is
  // durable (after each Send, and each release of held messages), until
  // RemoveListener: with the envelope a Send added, or with null when it
  // does not say (read the queue; seqs may also skip, e.g. past
  // MailboxOptions::seq_floor). The pointer is valid only during the call.
  // `on_new` must be quick and must not call Add/RemoveListener.
  ListenerId AddListener(absl::string_view handle, uint32_t device_id,
                         std::function<void(const StoredEnvelope* added)> on_new);
  // After this returns, the listener is not running and will not run again.
  void RemoveListener(ListenerId id);
  // The listeners themselves, for connecting them to the other nodes
  // (QueueListeners::ConnectBus) at start.
  QueueListeners* listeners() { return &listeners_; }

 private:
  // A queue a Send grew, for its listeners: `added` is the envelope the
  // Send put in it, so a subscriber that has read everything before it can
  // stream it without reading the queue back. Null when nobody listened to
  // the queue as the Send wrote (a copy of every ciphertext would otherwise
  // wait for each sync); a listener added since then reads it.
  struct QueueGrowth {
    std::string queue_prefix;
    std::shared_ptr<const StoredEnvelope> added;
  };
  // What a Send wrote: its result, and the queues to notify once durable.
  struct Sent {
    SendResult result{};
    std::vector<QueueGrowth> grown{};
    // A new message queued for this recipient (empty for receipts): for
    // on_message_.
    std::string message_for{};
  };

  // One Send as it passes its steps (mailbox.cc): what was asked, and what
  // the first steps derived from it.
  struct SendPlan {
    const AuthenticatedDevice& sender;
    absl::string_view recipient{};
    absl::string_view message_id{};
    const std::vector<OutgoingEnvelope>& envelopes;
    SendOptions options{};
    // kSynced for the blocking Send; kBuffered when the caller waits for
    // Store::WhenDurable.
    Durability durability = Durability::kSynced;
    int64_t now = 0;
    bool scheduled = false;  // held for a later release
    std::string digest{};    // SendDigest: what a retry must repeat
    std::string idempotency_key{};
    // The sender device's scheduled-index prefix (its held messages).
    std::string scheduled_prefix{};

    // What the Send read, in two Store::Reads (each one round trip on
    // PostgreSQL, where a read at a time made about ten), refreshed by
    // every attempt. ReadAsSender: the sender's rows and the care link,
    // nothing of the recipient's before a link is proven (issue 19).
    // The idempotency record as read: FindRetry checks it, the write
    // expects it.
    std::optional<std::string> idempotency_read{};
    size_t held = 0;  // the sender device's held messages (send later), up to the quota
    // Care::AddMessageLinkRead's error (malformed or own handle), which
    // RouteSend returns; else the link as read, decoded by RouteSend.
    absl::Status link_refused{};
    std::optional<std::string> link_read{};
    std::optional<records::Link> link{};
    // ReadAsRecipient, once routed: the recipient's account and devices,
    // the queue metas (one per envelope) and, for a client's message, the
    // conversation entry and the therapist's policy.
    ReadResult recipient_read{};
    Accounts::DeviceReads device_reads{};
    std::vector<size_t> meta_reads{};
    std::optional<size_t> entry_read{};
    std::optional<size_t> policy_read{};
    // The recipient's account row as CheckRecipientDevices read it: the
    // write expects it, so a Send that read the account before a deletion
    // through another node committed stores nothing after it (the retry
    // finds no devices). Sends do not write the row, so they never abort
    // each other on it.
    std::optional<std::string> recipient_account_read{};
  };

  // Runs Send's steps and writes with `durability`, without notifying.
  absl::StatusOr<Sent> SendSteps(const AuthenticatedDevice& sender, absl::string_view recipient,
                                 absl::string_view message_id,
                                 const std::vector<OutgoingEnvelope>& envelopes,
                                 SendOptions options, Durability durability);
  // The steps of Send, in order; each returns an error that ends the Send.
  // Runs under the plan's locks (SendLockKeys).
  std::vector<std::string> SendLockKeys(const SendPlan& plan) const;
  // The two reads of a Send (SendPlan). Errors: storage only, and
  // ReadAsRecipient's INVALID_ARGUMENT for a malformed recipient handle.
  absl::Status ReadAsSender(SendPlan& plan);
  absl::Status ReadAsRecipient(SendPlan& plan, const Route& route);
  // The first result again if the send is a retry (nullopt if it is new).
  absl::StatusOr<std::optional<SendResult>> FindRetry(const SendPlan& plan);
  // RESOURCE_EXHAUSTED when the sender device holds too many scheduled
  // messages already.
  absl::Status CheckScheduledQuota(const SendPlan& plan);
  // Care routing: whether the two may write, and whom the message is between.
  absl::StatusOr<Route> RouteSend(SendPlan& plan);
  // FAILED_PRECONDITION with a DeviceMismatch unless the envelopes cover
  // exactly the recipient's devices at their registration ids; NOT_FOUND
  // (no such recipient), FAILED_PRECONDITION (deactivated).
  absl::Status CheckRecipientDevices(SendPlan& plan);
  // When the therapist's reply to a client's message waiting since
  // `start_ms` is due, by the policy ReadAsRecipient read.
  absl::StatusOr<ReplyExpectation> ExpectationOf(const SendPlan& plan, int64_t start_ms);
  // Send later: writes the held message and its idempotency record.
  absl::StatusOr<Sent> Hold(const SendPlan& plan, const Route& route);
  // Queues the envelopes and writes them with the idempotency record and the
  // queue index; returns the queues to notify.
  absl::StatusOr<Sent> Deliver(const SendPlan& plan, const Route& route);
  void Notify(const Sent& sent);
  // Ack's deletion, written with `durability`.
  absl::StatusOr<uint32_t> AckWith(const AuthenticatedDevice& caller,
                                   const std::vector<uint64_t>& seqs, Durability durability);
  // Deletes the envelopes of queue `meta_key` stored before `cutoff` (one
  // page) and fixes its meta, under the queue's lock; how many.
  absl::StatusOr<uint64_t> SweepQueueLocked(const std::string& meta_key, int64_t cutoff);
  // One attempt of AckWith, under the queue's lock: ABORTED when another
  // node changed the queue's meta since it was read.
  absl::StatusOr<uint32_t> AckLocked(const AuthenticatedDevice& caller,
                                     const std::vector<uint64_t>& seqs, const std::string& meta_key,
                                     Durability durability);

  // Adds to `batch` the meta of queue `meta_key` less `envelopes`
  // and `bytes`, expecting the meta as read now (so that a Send or Ack
  // through another node in between makes the write ABORTED), and marks the
  // batch as freeing space. The caller holds the queue's lock.
  absl::Status ShrinkMetaInto(const std::string& meta_key, uint64_t envelopes, uint64_t bytes,
                              WriteBatch& batch);

  // Whether anyone listens to the queue of recipient.device now.
  bool Listened(absl::string_view recipient, uint32_t device_id);
  // Adds one envelope per entry of `envelopes` to `recipient`'s device
  // queues, reading each queue's meta (all in one Store::Read), or taking
  // them from `metas_read` (one per envelope, as the caller read them with
  // its other reads). With `enforce_depth`, a full queue is
  // RESOURCE_EXHAUSTED. The caller holds the queue meta locks. With `added`,
  // appends each envelope queued, in the order of `envelopes`.
  absl::Status QueueInto(const StoredEnvelope& stamp, absl::string_view recipient,
                         const std::vector<OutgoingEnvelope>& envelopes, bool enforce_depth,
                         WriteBatch& batch,
                         std::vector<std::shared_ptr<const StoredEnvelope>>* added = nullptr,
                         std::vector<std::optional<std::string>> metas_read = {});
  // What one ReleaseBatch did: whether it wrote, the queues to wake once
  // that is synced, and the next held message's time if one is not due.
  struct Released {
    bool wrote = false;
    std::vector<std::string> queues;
    std::vector<std::string> recipients;  // for on_message_
    std::optional<int64_t> next;
  };
  // Releases the due messages among the first kScheduledReleaseBatch held
  // ones, unsynced and without waking anyone. True if more may be due.
  absl::StatusOr<bool> ReleaseBatch(Released& released);
  // Releases one held message, unsynced (ReleaseDue), through the steps
  // below; the caller holds no lock, ReleaseOne takes the release's.
  absl::Status ReleaseOne(const std::string& scheduled_key, absl::string_view value,
                          Released& released);
  // One attempt of ReleaseOne under its locks: drops the held message (as
  // `drop` says), delivering `envelopes` if it may still be delivered, or
  // postpones it while a queue is full. ABORTED when another node released
  // or cancelled it, or queued into the same device, since it was read.
  absl::Status ReleaseLocked(const std::string& scheduled_key, absl::string_view value,
                             const records::Scheduled& held,
                             const std::vector<OutgoingEnvelope>& envelopes, WriteBatch drop,
                             Released& released);
  // Moves out of `held` the envelopes for the recipient's devices that still
  // exist (none if the account is gone).
  absl::StatusOr<std::vector<OutgoingEnvelope>> TakeEnvelopesForRemainingDevices(
      records::Scheduled& held);
  // Whom a held message is between now, or nullopt if it may no longer be
  // delivered (its sender is gone, the care link ended or was made anew).
  absl::StatusOr<std::optional<Route>> RouteRelease(const records::Scheduled& held);
  // Queues the envelopes, indexes the conversation and writes it with
  // `drop`; adds the queues to wake to `released`.
  absl::Status DeliverReleased(const records::Scheduled& held,
                               const std::vector<OutgoingEnvelope>& envelopes, const Route& route,
                               const WriteBatch& drop, Released& released);
  // Writes `batch` unsynced and notes in `released` that something was.
  absl::Status WriteReleased(const WriteBatch& batch, Released& released);

  Store* const store_;
  Accounts* const accounts_;
  Clock* const clock_;
  const MailboxOptions options_;
  Care* const care_;
  ConversationQueue* const conversations_;
  std::function<void(int64_t)> on_scheduled_;
  std::function<void(absl::string_view)> on_message_;
  // Serialises read-modify-write of queue meta (per recipient device) and of
  // idempotency records (per sender device).
  StripedMutex locks_;
  QueueListeners listeners_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_MAILBOX_H_
