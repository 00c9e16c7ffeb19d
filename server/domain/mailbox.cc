#include "server/domain/mailbox.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
#include "server/domain/sha256.h"
#include "server/storage/key_codec.h"
#include "sotto/metrics.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

absl::Status ValidateSend(absl::string_view message_id,
                          const std::vector<OutgoingEnvelope>& envelopes) {
  if (message_id.size() != kMessageIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message_id must be ", kMessageIdBytes, " bytes, got ", message_id.size()));
  }
  if (envelopes.empty() || envelopes.size() > kMaxDevicesPerUser) {
    return absl::InvalidArgumentError(absl::StrCat("a message holds 1..", kMaxDevicesPerUser,
                                                   " envelopes, got ", envelopes.size()));
  }
  absl::flat_hash_set<uint32_t> devices;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const OutgoingEnvelope& e = envelopes[i];
    if (e.type != kEnvelopeTypeCiphertext && e.type != kEnvelopeTypePreKey) {
      return absl::InvalidArgumentError(absl::StrCat(
          "envelope ", i, " has type ", e.type, "; a Signal message (", kEnvelopeTypeCiphertext,
          ") or prekey message (", kEnvelopeTypePreKey, ") was expected"));
    }
    if (e.ciphertext.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("envelope ", i, ": ciphertext is empty"));
    }
    if (e.ciphertext.size() > kMaxCiphertextBytes) {
      return absl::InvalidArgumentError(absl::StrCat("envelope ", i, ": ciphertext is ",
                                                     e.ciphertext.size(), " bytes; at most ",
                                                     kMaxCiphertextBytes, " are allowed"));
    }
    if (!devices.insert(e.device_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("envelope ", i, " names device ", e.device_id, " twice"));
    }
  }
  return absl::OkStatus();
}

// The kind and the release time of a Send, against the clock's `now`.
absl::Status ValidateTiming(const SendOptions& options, int64_t now) {
  if (options.kind != SendKind::kMessage && options.kind != SendKind::kReceipt &&
      options.kind != SendKind::kSync) {
    return absl::InvalidArgumentError(absl::StrCat(
        "send kind ", static_cast<int>(options.kind), " is neither a message (",
        static_cast<int>(SendKind::kMessage), "), a receipt (",
        static_cast<int>(SendKind::kReceipt), ") nor a sync (", static_cast<int>(SendKind::kSync),
        ")"));
  }
  if (options.deliver_at_ms <= now) return absl::OkStatus();
  if (options.kind == SendKind::kReceipt) {
    return absl::InvalidArgumentError("a receipt cannot be scheduled for later delivery");
  }
  if (options.kind == SendKind::kSync) {
    // The sending device's other devices learn of a send-later message at
    // once (its time is inside the transcript); nothing waits on the server.
    return absl::InvalidArgumentError("a sync cannot be scheduled for later delivery");
  }
  if (options.deliver_at_ms - now > kMaxScheduleAheadMs) {
    // Names the field a client sets: tests and clients match on it.
    return absl::InvalidArgumentError(absl::StrCat("deliver_at_ms is more than ",
                                                   kMaxScheduleAheadMs / (24 * 3600 * 1000),
                                                   " days ahead of the server's clock"));
  }
  return absl::OkStatus();
}

// How `envelopes` differ from the recipient's `devices`: devices without an
// envelope, envelopes for no device, and registration ids that changed.
DeviceMismatch FindDeviceMismatch(absl::string_view recipient,
                                  const std::vector<DeviceInfo>& devices,
                                  const std::vector<OutgoingEnvelope>& envelopes) {
  DeviceMismatch mismatch;
  mismatch.user = std::string(recipient);
  for (const DeviceInfo& d : devices) {
    auto it = std::find_if(envelopes.begin(), envelopes.end(),
                           [&](const OutgoingEnvelope& e) { return e.device_id == d.device_id; });
    if (it == envelopes.end()) {
      mismatch.missing_devices.push_back(d.device_id);
    } else if (it->registration_id != d.registration_id) {
      mismatch.stale_devices.push_back(d.device_id);
    }
  }
  for (const OutgoingEnvelope& e : envelopes) {
    bool known = std::any_of(devices.begin(), devices.end(),
                             [&](const DeviceInfo& d) { return d.device_id == e.device_id; });
    if (!known) mismatch.extra_devices.push_back(e.device_id);
  }
  std::sort(mismatch.extra_devices.begin(), mismatch.extra_devices.end());
  return mismatch;
}

// Whether a message on `route` counts in the therapist's queue index.
bool Indexed(const ConversationQueue* conversations, const Route& route, SendKind kind) {
  return conversations != nullptr && route.between_care_parties && kind == SendKind::kMessage;
}

// SHA-256 over what identifies a message's content: the recipient and each
// envelope's device, type and ciphertext (length-prefixed, so no two
// different sends share an encoding). A retry resends exactly these.
absl::StatusOr<std::string> SendDigest(absl::string_view recipient,
                                       const std::vector<OutgoingEnvelope>& envelopes) {
  std::string input;
  keys::AppendBigEndian32(input, static_cast<uint32_t>(recipient.size()));
  input.append(recipient.data(), recipient.size());
  for (const OutgoingEnvelope& e : envelopes) {
    keys::AppendBigEndian32(input, e.device_id);
    keys::AppendBigEndian32(input, static_cast<uint32_t>(e.type));
    keys::AppendBigEndian32(input, static_cast<uint32_t>(e.ciphertext.size()));
    input.append(e.ciphertext);
  }
  std::string digest = Sha256({input});
  if (digest.empty()) return absl::InternalError("SHA-256 failed");
  return digest;
}

// When an idempotency record stops being honoured (limits.h).
int64_t ExpiresAt(const records::Idempotency& i) {
  return std::max(i.server_time_ms, i.deliver_at_ms) + kIdempotencyRetentionMs;
}

}  // namespace

Mailbox::Mailbox(Store* store, Accounts* accounts, Clock* clock, MailboxOptions options, Care* care,
                 ConversationQueue* conversations)
    : store_(store),
      accounts_(accounts),
      clock_(clock),
      options_(options),
      care_(care),
      conversations_(conversations) {}

void Mailbox::SetScheduleListener(std::function<void(int64_t)> on_scheduled) {
  on_scheduled_ = std::move(on_scheduled);
}

void Mailbox::SetMessageListener(std::function<void(absl::string_view)> on_message) {
  on_message_ = std::move(on_message);
}

absl::Status Mailbox::QueueInto(const StoredEnvelope& stamp, absl::string_view recipient,
                                const std::vector<OutgoingEnvelope>& envelopes, bool enforce_depth,
                                WriteBatch& batch,
                                std::vector<std::shared_ptr<const StoredEnvelope>>* added,
                                std::vector<std::optional<std::string>> metas_read) {
  if (metas_read.size() != envelopes.size()) {
    ReadBatch reads;
    for (const OutgoingEnvelope& e : envelopes) {
      reads.Get(Table::kQueueMeta, keys::QueueMeta(recipient, e.device_id));
    }
    SOTTO_ASSIGN_OR_RETURN(ReadResult read, store_->Read(reads));
    metas_read = std::move(read.values);
  }
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const OutgoingEnvelope& e = envelopes[i];
    std::string meta_key = keys::QueueMeta(recipient, e.device_id);
    std::optional<std::string> meta_value = std::move(metas_read[i]);
    records::QueueMeta meta;
    if (meta_value) {
      SOTTO_ASSIGN_OR_RETURN(meta, records::DecodeQueueMeta(*meta_value));
    }
    if (meta.removed_at_ms != 0) {
      // Removed (through another node) after this Send read the device
      // list: the retry reads the list again and answers with the mismatch.
      return absl::AbortedError(
          absl::StrCat("device ", recipient, ".", e.device_id, " was removed meanwhile"));
    }
    if (enforce_depth && meta.depth >= options_.max_queue_depth) {
      metrics::CountRefusal("queue_depth");
      return absl::ResourceExhaustedError(absl::StrCat("queue of device ", recipient, ".",
                                                       e.device_id, " is full (", meta.depth,
                                                       " undelivered envelopes)"));
    }
    StoredEnvelope stored = stamp;
    stored.seq = std::max(meta.next_seq, options_.seq_floor);
    stored.type = e.type;
    stored.ciphertext = e.ciphertext;
    std::string value = records::Encode(stored);
    // Names the device and the limit, never anything about what is queued.
    if (enforce_depth && meta.bytes + value.size() > options_.max_queue_bytes) {
      metrics::CountRefusal("queue_bytes");
      return absl::ResourceExhaustedError(
          absl::StrCat("queue of device ", recipient, ".", e.device_id, " is full (at most ",
                       options_.max_queue_bytes, " bytes of undelivered envelopes)"));
    }
    meta.bytes += value.size();
    batch.Put(Table::kQueues, keys::Queue(recipient, e.device_id, stored.seq), std::move(value));
    meta.next_seq = stored.seq + 1;
    ++meta.depth;
    // Another node may have queued into this device since the read: then
    // the write is ABORTED and the caller reads again (RetryAborted), so
    // no two envelopes get one seq.
    batch.Expect(Table::kQueueMeta, meta_key, std::move(meta_value));
    batch.Put(Table::kQueueMeta, std::move(meta_key), records::Encode(meta));
    if (added != nullptr) {
      added->push_back(Listened(recipient, e.device_id)
                           ? std::make_shared<StoredEnvelope>(std::move(stored))
                           : nullptr);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SendResult> Mailbox::Send(const AuthenticatedDevice& sender,
                                         absl::string_view recipient, absl::string_view message_id,
                                         const std::vector<OutgoingEnvelope>& envelopes,
                                         SendOptions options) {
  SOTTO_ASSIGN_OR_RETURN(
      Sent sent, SendSteps(sender, recipient, message_id, envelopes, options, Durability::kSynced));
  Notify(sent);
  return std::move(sent.result);
}

void Mailbox::Send(const AuthenticatedDevice& sender, absl::string_view recipient,
                   absl::string_view message_id, const std::vector<OutgoingEnvelope>& envelopes,
                   SendOptions options, SendDone done) {
  // While the disk stalls, answers pile up waiting for it: refuse new work
  // before writing it.
  if (store_->Backlogged()) {
    metrics::CountRefusal("store_backlog");
    done(absl::ResourceExhaustedError("server busy; retry"));
    return;
  }
  absl::StatusOr<Sent> sent =
      SendSteps(sender, recipient, message_id, envelopes, options, Durability::kBuffered);
  if (!sent.ok()) {
    done(sent.status());
    return;
  }
  // Later Sends to these queues read this write at once (it is in the
  // memtable); the log keeps write order, so no later write can survive a
  // crash without it. Also for a duplicate: the first attempt's write may
  // still be waiting for this very sync.
  store_->WhenDurable(
      [this, sent = *std::move(sent), done = std::move(done)](absl::Status synced) mutable {
        if (!synced.ok()) {
          done(absl::UnavailableError(absl::StrCat("the message could not be made durable (",
                                                   synced.message(),
                                                   "); retry with the same message id")));
          return;
        }
        Notify(sent);
        done(std::move(sent.result));
      });
}

absl::StatusOr<Mailbox::Sent> Mailbox::SendSteps(const AuthenticatedDevice& sender,
                                                 absl::string_view recipient,
                                                 absl::string_view message_id,
                                                 const std::vector<OutgoingEnvelope>& envelopes,
                                                 SendOptions options, Durability durability) {
  SOTTO_RETURN_IF_ERROR(ValidateSend(message_id, envelopes));
  const int64_t now = clock_->NowMillis();
  SOTTO_RETURN_IF_ERROR(ValidateTiming(options, now));
  SendPlan plan{sender, recipient, message_id, envelopes, options};
  plan.durability = durability;
  plan.now = now;
  plan.scheduled = options.deliver_at_ms > now;
  SOTTO_ASSIGN_OR_RETURN(plan.digest, SendDigest(recipient, envelopes));
  plan.idempotency_key = keys::Idempotency(sender.handle, sender.device_id, message_id);
  plan.scheduled_prefix = keys::ScheduledIndex(sender.handle, sender.device_id, "");

  StripedLock lock(locks_, SendLockKeys(plan));
  // The lock orders this node's Sends; the write's expectations (the
  // idempotency record and each queue's meta as read) order them against
  // other nodes', which make it ABORTED: then every step runs again.
  return RetryAborted("the message", [&]() -> absl::StatusOr<Sent> {
    SOTTO_RETURN_IF_ERROR(ReadAsSender(plan));
    SOTTO_ASSIGN_OR_RETURN(std::optional<SendResult> retry, FindRetry(plan));
    if (retry) return Sent{*std::move(retry), {}};
    if (plan.scheduled) SOTTO_RETURN_IF_ERROR(CheckScheduledQuota(plan));
    SOTTO_ASSIGN_OR_RETURN(const Route route, RouteSend(plan));
    // The client's index entries are read and written under its lock
    // (ConversationQueue::LockClient), after this node's queue locks.
    std::unique_ptr<StripedLock> client_lock;
    if (!plan.scheduled && Indexed(conversations_, route, plan.options.kind)) {
      client_lock = conversations_->LockClient(route.client);
    }
    SOTTO_RETURN_IF_ERROR(ReadAsRecipient(plan, route));
    SOTTO_RETURN_IF_ERROR(CheckRecipientDevices(plan));
    if (plan.scheduled) return Hold(plan, route);
    return Deliver(plan, route);
  });
}

absl::Status Mailbox::RemoveDevice(const AuthenticatedDevice& caller, uint32_t device_id,
                                   const CallContext& call) {
  // The keys Send locks for a queue of this device and for its held
  // messages (SendLockKeys).
  StripedLock lock(locks_, {keys::QueueMeta(caller.handle, device_id),
                            keys::ScheduledIndex(caller.handle, device_id, "")});
  return accounts_->RemoveDevice(caller, device_id, call);
}

std::vector<std::string> Mailbox::SendLockKeys(const SendPlan& plan) const {
  std::vector<std::string> lock_keys = {plan.idempotency_key};
  // Serialises the count-then-add of the kMaxScheduledPerDevice check.
  if (plan.scheduled) lock_keys.push_back(plan.scheduled_prefix);
  for (const OutgoingEnvelope& e : plan.envelopes) {
    lock_keys.push_back(keys::QueueMeta(plan.recipient, e.device_id));
  }
  return lock_keys;
}

absl::Status Mailbox::ReadAsSender(SendPlan& plan) {
  ReadBatch batch;
  const size_t idempotency = batch.Get(Table::kIdempotency, plan.idempotency_key);
  std::optional<size_t> held;
  if (plan.scheduled) {
    held = batch.Scan(Table::kScheduledIndex, plan.scheduled_prefix,
                      options_.max_scheduled_per_device);
  }
  std::optional<size_t> link;
  plan.link_refused = absl::OkStatus();
  if (care_ != nullptr && plan.options.kind != SendKind::kSync) {
    absl::StatusOr<size_t> at = Care::AddMessageLinkRead(plan.sender, plan.recipient, batch);
    if (at.ok()) {
      link = *at;
    } else {
      plan.link_refused = at.status();
    }
  }
  SOTTO_ASSIGN_OR_RETURN(ReadResult read, store_->Read(batch));
  plan.idempotency_read = std::move(read.values.at(idempotency));
  plan.held = held ? read.scans.at(*held).size() : 0;
  plan.link_read = link ? std::move(read.values.at(*link)) : std::nullopt;
  return absl::OkStatus();
}

absl::Status Mailbox::ReadAsRecipient(SendPlan& plan, const Route& route) {
  ReadBatch batch;
  SOTTO_ASSIGN_OR_RETURN(plan.device_reads, Accounts::AddDeviceReads(plan.recipient, batch));
  plan.meta_reads.clear();
  plan.entry_read.reset();
  plan.policy_read.reset();
  if (!plan.scheduled) {
    for (const OutgoingEnvelope& e : plan.envelopes) {
      plan.meta_reads.push_back(
          batch.Get(Table::kQueueMeta, keys::QueueMeta(plan.recipient, e.device_id)));
    }
  }
  if (Indexed(conversations_, route, plan.options.kind) && route.from_client) {
    if (!plan.scheduled) plan.entry_read = ConversationQueue::AddClientEntryRead(route, batch);
    plan.policy_read = Care::AddPolicyRead(route.therapist, batch);
  }
  SOTTO_ASSIGN_OR_RETURN(plan.recipient_read, store_->Read(batch));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SendResult>> Mailbox::FindRetry(const SendPlan& plan) {
  const std::optional<std::string>& previous = plan.idempotency_read;
  if (!previous) return std::nullopt;
  SOTTO_ASSIGN_OR_RETURN(records::Idempotency first, records::DecodeIdempotency(*previous));
  // An expired record is a new message that reuses the id.
  if (plan.now >= ExpiresAt(first)) return std::nullopt;
  const bool same =
      first.digest.empty() ? first.legacy_recipient == plan.recipient : first.digest == plan.digest;
  if (!same) {
    return absl::InvalidArgumentError(
        absl::StrCat("message id ", absl::BytesToHexString(plan.message_id),
                     " was already used for a different message (another recipient or other "
                     "envelopes); use a new message id"));
  }
  SendResult dup;
  dup.server_time_ms = first.server_time_ms;
  dup.duplicate = true;
  dup.deliver_at_ms = first.deliver_at_ms;
  return dup;
}

absl::Status Mailbox::CheckScheduledQuota(const SendPlan& plan) {
  if (plan.held < options_.max_scheduled_per_device) return absl::OkStatus();
  metrics::CountRefusal("scheduled_per_device");
  return absl::ResourceExhaustedError(
      absl::StrCat("device ", plan.sender.handle, ".", plan.sender.device_id, " already has ",
                   plan.held, " scheduled messages (at most ", options_.max_scheduled_per_device,
                   "); cancel one or wait for a release"));
}

absl::StatusOr<Route> Mailbox::RouteSend(SendPlan& plan) {
  // A sync stays inside one account: no care link is involved, and the
  // queue index never sees it (Route::between_care_parties stays false).
  if (plan.options.kind == SendKind::kSync) {
    if (plan.recipient != plan.sender.handle) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a sync (send kind ", static_cast<int>(SendKind::kSync),
          ") goes to the caller's own handle ", plan.sender.handle, ", not to ", plan.recipient));
    }
    return Route{};
  }
  if (care_ == nullptr) return Route{};
  SOTTO_RETURN_IF_ERROR(plan.link_refused);
  return Care::RouteFromLink(plan.sender, plan.recipient, plan.link_read, &plan.link);
}

absl::Status Mailbox::CheckRecipientDevices(SendPlan& plan) {
  // The account row as read, for the write to expect (SendPlan says why).
  // The batch reads it before the device list: read after it, it could
  // miss a deletion that the list predates.
  plan.recipient_account_read = plan.recipient_read.values.at(plan.device_reads.account);
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices,
                         Accounts::DevicesFrom(plan.recipient, plan.device_reads,
                                               plan.recipient_read, /*check_active=*/true));
  if (plan.options.kind == SendKind::kSync) {
    // The sender's own devices but itself: an envelope for the sending
    // device is an extra one.
    devices.erase(std::remove_if(devices.begin(), devices.end(),
                                 [&](const DeviceInfo& d) {
                                   return d.device_id == plan.sender.device_id;
                                 }),
                  devices.end());
  }
  DeviceMismatch mismatch = FindDeviceMismatch(plan.recipient, devices, plan.envelopes);
  if (!mismatch.empty()) return DeviceMismatchError(mismatch);
  return absl::OkStatus();
}

absl::StatusOr<ReplyExpectation> Mailbox::ExpectationOf(const SendPlan& plan,
                                                       int64_t start_ms) {
  SOTTO_ASSIGN_OR_RETURN(const ResponsePolicy policy,
                         Care::PolicyFrom(plan.recipient_read.values.at(*plan.policy_read)));
  return conversations_->ExpectWith(policy, start_ms, plan.now);
}

absl::StatusOr<Mailbox::Sent> Mailbox::Deliver(const SendPlan& plan, const Route& route) {
  StoredEnvelope stamp;
  stamp.sender = plan.sender.handle;
  stamp.sender_device = plan.sender.device_id;
  stamp.server_time_ms = plan.now;
  stamp.message_id = std::string(plan.message_id);
  WriteBatch batch;
  std::vector<std::shared_ptr<const StoredEnvelope>> added;
  added.reserve(plan.envelopes.size());
  std::vector<std::optional<std::string>> metas;
  for (size_t i : plan.meta_reads) metas.push_back(plan.recipient_read.values.at(i));
  SOTTO_RETURN_IF_ERROR(QueueInto(stamp, plan.recipient, plan.envelopes,
                                  /*enforce_depth=*/true, batch, &added, std::move(metas)));
  // A retry through another node, stored meanwhile, makes this ABORTED;
  // the next attempt finds it (FindRetry) and answers as a duplicate.
  batch.Expect(Table::kIdempotency, plan.idempotency_key, plan.idempotency_read);
  batch.Expect(Table::kAccounts, keys::Account(plan.recipient), plan.recipient_account_read);
  batch.Put(Table::kIdempotency, plan.idempotency_key,
            records::Encode(records::Idempotency{plan.now, plan.digest, 0, ""}));
  const bool indexed = Indexed(conversations_, route, plan.options.kind);
  int64_t oldest_waiting = 0;
  // The caller holds the client's lock (SendSteps).
  if (indexed && route.from_client) {
    SOTTO_ASSIGN_OR_RETURN(
        oldest_waiting,
        conversations_->AddClientMessageInto(
            route, plan.now, plan.recipient_read.values.at(*plan.entry_read), batch));
  } else if (indexed) {
    SOTTO_ASSIGN_OR_RETURN(oldest_waiting, conversations_->AddMessageInto(route, plan.now, batch));
  }
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, plan.durability));
  Sent sent;
  sent.result.server_time_ms = plan.now;
  if (indexed && route.from_client) {
    SOTTO_ASSIGN_OR_RETURN(sent.result.expectation, ExpectationOf(plan, oldest_waiting));
  }
  for (size_t i = 0; i < plan.envelopes.size(); ++i) {
    sent.grown.push_back(QueueGrowth{keys::QueuePrefix(plan.recipient, plan.envelopes[i].device_id),
                                     std::move(added[i])});
  }
  if (plan.options.kind == SendKind::kMessage && !plan.envelopes.empty()) {
    sent.message_for = std::string(plan.recipient);
  }
  return sent;
}

void Mailbox::Notify(const Sent& sent) {
  for (const QueueGrowth& q : sent.grown) listeners_.Notify(q.queue_prefix, q.added.get());
  if (on_message_ && !sent.message_for.empty()) on_message_(sent.message_for);
}

absl::StatusOr<Mailbox::Sent> Mailbox::Hold(const SendPlan& plan, const Route& route) {
  records::Scheduled held;
  held.sender = plan.sender.handle;
  held.sender_device = plan.sender.device_id;
  held.recipient = std::string(plan.recipient);
  held.message_id = std::string(plan.message_id);
  held.kind = static_cast<uint32_t>(plan.options.kind);
  held.accepted_ms = plan.now;
  held.deliver_at_ms = plan.options.deliver_at_ms;
  held.envelopes = plan.envelopes;
  // Release delivers only under this same link (ReleaseOne).
  if (care_ != nullptr && route.between_care_parties && plan.link) {
    held.link_since_ms = plan.link->since_ms;
  }
  WriteBatch batch;
  std::string key =
      keys::Scheduled(held.deliver_at_ms, held.sender, held.sender_device, plan.message_id);
  batch.Put(Table::kScheduledIndex,
            keys::ScheduledIndex(held.sender, held.sender_device, plan.message_id), key);
  batch.Put(Table::kScheduled, std::move(key), records::Encode(held));
  batch.Expect(Table::kIdempotency, plan.idempotency_key, plan.idempotency_read);
  // Held for a deleted account, it would be released to whoever registers
  // the handle next.
  batch.Expect(Table::kAccounts, keys::Account(plan.recipient), plan.recipient_account_read);
  batch.Put(Table::kIdempotency, plan.idempotency_key,
            records::Encode(records::Idempotency{plan.now, plan.digest, held.deliver_at_ms, ""}));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, plan.durability));
  SendResult result;
  result.server_time_ms = plan.now;
  result.deliver_at_ms = held.deliver_at_ms;
  if (Indexed(conversations_, route, plan.options.kind) && route.from_client) {
    // The conversation starts waiting when the message is released.
    SOTTO_ASSIGN_OR_RETURN(result.expectation, ExpectationOf(plan, held.deliver_at_ms));
  }
  if (on_scheduled_) on_scheduled_(held.deliver_at_ms);
  // Nobody hears of a held message until its release.
  return Sent{std::move(result), {}};
}

absl::StatusOr<size_t> Mailbox::SweepIdempotency() {
  size_t deleted = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kIdempotency, "", after, kSweepBatch));
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::Idempotency scanned, records::DecodeIdempotency(row.value));
      if (clock_->NowMillis() < ExpiresAt(scanned)) continue;
      // Under the key's lock, read again: a Send may have reused the expired
      // id since the scan, and its new record must stay.
      StripedLock lock(locks_, {row.key});
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             store_->Get(Table::kIdempotency, row.key));
      if (!value) continue;
      SOTTO_ASSIGN_OR_RETURN(records::Idempotency current, records::DecodeIdempotency(*value));
      if (clock_->NowMillis() < ExpiresAt(current)) continue;
      WriteBatch batch;
      // A Send through another node that reused the id since the read
      // keeps its record: ABORTED, and the record is left alone.
      batch.Expect(Table::kIdempotency, row.key, std::move(value));
      batch.Delete(Table::kIdempotency, row.key);
      // Buffered: a delete lost in a machine crash is redone by the next sweep.
      absl::Status written = store_->Write(batch, Durability::kBuffered);
      if (written.code() == absl::StatusCode::kAborted) continue;
      SOTTO_RETURN_IF_ERROR(written);
      ++deleted;
    }
    if (rows.size() < kSweepBatch) return deleted;
    after = rows.back().key;
  }
}

absl::StatusOr<FetchResult> Mailbox::Fetch(const AuthenticatedDevice& caller, uint64_t after_seq,
                                           uint32_t limit) {
  if (limit > kMaxFetchBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", limit, " is above the maximum of ", kMaxFetchBatch));
  }
  if (limit == 0) limit = kDefaultFetchBatch;
  SOTTO_ASSIGN_OR_RETURN(
      std::vector<KeyValue> rows,
      store_->Scan(Table::kQueues, keys::QueuePrefix(caller.handle, caller.device_id),
                   keys::Queue(caller.handle, caller.device_id, after_seq),
                   static_cast<size_t>(limit) + 1));
  FetchResult result;
  size_t bytes = 0;
  for (const KeyValue& row : rows) {
    if (result.envelopes.size() == limit ||
        (!result.envelopes.empty() && bytes + row.value.size() > kMaxFetchBytes)) {
      result.more = true;
      break;
    }
    std::optional<uint64_t> seq = keys::QueueSeqOf(row.key);
    if (!seq) return records::Corrupt("queue key");
    SOTTO_ASSIGN_OR_RETURN(StoredEnvelope e, records::DecodeEnvelope(*seq, row.value));
    bytes += row.value.size();
    result.envelopes.push_back(std::move(e));
  }
  return result;
}

Mailbox::ListenerId Mailbox::AddListener(absl::string_view handle, uint32_t device_id,
                                         std::function<void(const StoredEnvelope*)> on_new) {
  return listeners_.Add(keys::QueuePrefix(handle, device_id), std::move(on_new));
}

bool Mailbox::Listened(absl::string_view recipient, uint32_t device_id) {
  return listeners_.Any() && listeners_.Listened(keys::QueuePrefix(recipient, device_id));
}

void Mailbox::RemoveListener(ListenerId id) { listeners_.Remove(id); }

}  // namespace sotto::server
