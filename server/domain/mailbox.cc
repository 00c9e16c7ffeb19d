#include "server/domain/mailbox.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
#include "server/domain/sha256.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

absl::Status ValidateSend(absl::string_view message_id,
                          const std::vector<OutgoingEnvelope>& envelopes) {
  if (message_id.size() != kMessageIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message_id must be ", kMessageIdBytes, " bytes, got ", message_id.size()));
  }
  if (envelopes.empty() || envelopes.size() > kMaxDevicesPerUser) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelopes must hold 1..", kMaxDevicesPerUser,
                     " entries, got ", envelopes.size()));
  }
  absl::flat_hash_set<uint32_t> devices;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const OutgoingEnvelope& e = envelopes[i];
    if (e.type != kEnvelopeTypeCiphertext && e.type != kEnvelopeTypePreKey) {
      return absl::InvalidArgumentError(absl::StrCat(
          "envelopes[", i, "].type ", e.type,
          " is not ENVELOPE_TYPE_CIPHERTEXT (2) or ENVELOPE_TYPE_PREKEY (3)"));
    }
    if (e.ciphertext.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("envelopes[", i, "].ciphertext is empty"));
    }
    if (e.ciphertext.size() > kMaxCiphertextBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "envelopes[", i, "].ciphertext is ", e.ciphertext.size(),
          " bytes; at most ", kMaxCiphertextBytes, " are allowed"));
    }
    if (!devices.insert(e.device_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("envelopes[", i, "] lists device ", e.device_id, " twice"));
    }
  }
  return absl::OkStatus();
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

Mailbox::Mailbox(Store* store, Accounts* accounts, Clock* clock,
                 MailboxOptions options, Care* care, ConversationQueue* conversations)
    : store_(store),
      accounts_(accounts),
      clock_(clock),
      options_(options),
      care_(care),
      conversations_(conversations) {}

void Mailbox::SetScheduleListener(std::function<void(int64_t)> on_scheduled) {
  on_scheduled_ = std::move(on_scheduled);
}

absl::Status Mailbox::QueueInto(const StoredEnvelope& stamp, absl::string_view recipient,
                                const std::vector<OutgoingEnvelope>& envelopes,
                                bool enforce_depth, WriteBatch& batch,
                                std::vector<std::shared_ptr<const StoredEnvelope>>* added) {
  for (const OutgoingEnvelope& e : envelopes) {
    std::string meta_key = keys::QueueMeta(recipient, e.device_id);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                           store_->Get(Table::kQueueMeta, meta_key));
    records::QueueMeta meta;
    if (meta_value) {
      SOTTO_ASSIGN_OR_RETURN(meta, records::DecodeQueueMeta(*meta_value));
    }
    if (enforce_depth && meta.depth >= options_.max_queue_depth) {
      return absl::ResourceExhaustedError(
          absl::StrCat("queue of device ", recipient, ".", e.device_id,
                       " is full (", meta.depth, " undelivered envelopes)"));
    }
    StoredEnvelope stored = stamp;
    stored.seq = std::max(meta.next_seq, options_.seq_floor);
    stored.type = e.type;
    stored.ciphertext = e.ciphertext;
    std::string value = records::Encode(stored);
    // Names the device and the limit, never anything about what is queued.
    if (enforce_depth && meta.bytes + value.size() > options_.max_queue_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "queue of device ", recipient, ".", e.device_id, " is full (at most ",
          options_.max_queue_bytes, " bytes of undelivered envelopes)"));
    }
    meta.bytes += value.size();
    batch.Put(Table::kQueues, keys::Queue(recipient, e.device_id, stored.seq),
              std::move(value));
    meta.next_seq = stored.seq + 1;
    ++meta.depth;
    batch.Put(Table::kQueueMeta, std::move(meta_key), records::Encode(meta));
    if (added != nullptr) {
      added->push_back(Listened(recipient, e.device_id)
                           ? std::make_shared<StoredEnvelope>(std::move(stored))
                           : nullptr);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SendResult> Mailbox::Send(
    const AuthenticatedDevice& sender, absl::string_view recipient,
    absl::string_view message_id, const std::vector<OutgoingEnvelope>& envelopes,
    SendOptions options) {
  SOTTO_RETURN_IF_ERROR(ValidateSend(message_id, envelopes));
  if (options.kind != SendKind::kMessage && options.kind != SendKind::kReceipt) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind ", static_cast<int>(options.kind),
                     " is not SEND_KIND_MESSAGE (0) or SEND_KIND_RECEIPT (1)"));
  }
  const int64_t now = clock_->NowMillis();
  const bool scheduled = options.deliver_at_ms > now;
  if (scheduled) {
    if (options.kind == SendKind::kReceipt) {
      return absl::InvalidArgumentError(
          "deliver_at_ms: a receipt (SEND_KIND_RECEIPT) cannot be scheduled");
    }
    if (options.deliver_at_ms - now > kMaxScheduleAheadMs) {
      return absl::InvalidArgumentError(absl::StrCat(
          "deliver_at_ms is more than ", kMaxScheduleAheadMs / (24 * 3600 * 1000),
          " days ahead of the server's clock"));
    }
  }

  const std::string idempotency_key =
      keys::Idempotency(sender.handle, sender.device_id, message_id);
  SOTTO_ASSIGN_OR_RETURN(const std::string digest, SendDigest(recipient, envelopes));
  // The sender device's scheduled-index prefix: serialises the count-then-add
  // of the kMaxScheduledPerDevice check.
  const std::string scheduled_prefix =
      keys::ScheduledIndex(sender.handle, sender.device_id, "");
  std::vector<std::string> lock_keys = {idempotency_key};
  if (scheduled) lock_keys.push_back(scheduled_prefix);
  for (const OutgoingEnvelope& e : envelopes) {
    lock_keys.push_back(keys::QueueMeta(recipient, e.device_id));
  }
  StripedLock lock(locks_, lock_keys);

  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> previous,
                         store_->Get(Table::kIdempotency, idempotency_key));
  if (previous) {
    SOTTO_ASSIGN_OR_RETURN(records::Idempotency first,
                           records::DecodeIdempotency(*previous));
    if (now < ExpiresAt(first)) {
      const bool same = first.digest.empty() ? first.legacy_recipient == recipient
                                             : first.digest == digest;
      if (!same) {
        return absl::InvalidArgumentError(absl::StrCat(
            "message id ", absl::BytesToHexString(message_id),
            " was already used for a different message (another recipient or other "
            "envelopes); use a new message id"));
      }
      SendResult dup;
      dup.server_time_ms = first.server_time_ms;
      dup.duplicate = true;
      dup.deliver_at_ms = first.deliver_at_ms;
      return dup;
    }
  }

  if (scheduled) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> held,
                           store_->Scan(Table::kScheduledIndex, scheduled_prefix, "",
                                        options_.max_scheduled_per_device));
    if (held.size() >= options_.max_scheduled_per_device) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "device ", sender.handle, ".", sender.device_id, " already has ", held.size(),
          " scheduled messages (at most ", options_.max_scheduled_per_device,
          "); cancel one or wait for a release"));
    }
  }

  Route route;
  if (care_ != nullptr) {
    SOTTO_ASSIGN_OR_RETURN(route, care_->CheckCanMessage(sender, recipient));
  }

  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices,
                         accounts_->Devices(recipient));
  SOTTO_RETURN_IF_ERROR(accounts_->CheckActive(recipient));
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
    bool known = std::any_of(devices.begin(), devices.end(), [&](const DeviceInfo& d) {
      return d.device_id == e.device_id;
    });
    if (!known) mismatch.extra_devices.push_back(e.device_id);
  }
  std::sort(mismatch.extra_devices.begin(), mismatch.extra_devices.end());
  if (!mismatch.empty()) return DeviceMismatchError(mismatch);

  const bool indexed = conversations_ != nullptr && route.between_care_parties &&
                       options.kind == SendKind::kMessage;
  SendResult result;
  result.server_time_ms = now;
  WriteBatch batch;
  if (scheduled) {
    records::Scheduled held;
    held.sender = sender.handle;
    held.sender_device = sender.device_id;
    held.recipient = std::string(recipient);
    held.message_id = std::string(message_id);
    held.kind = static_cast<uint32_t>(options.kind);
    held.accepted_ms = now;
    held.deliver_at_ms = options.deliver_at_ms;
    held.envelopes = envelopes;
    if (care_ != nullptr && route.between_care_parties) {
      SOTTO_ASSIGN_OR_RETURN(std::optional<records::Link> link,
                             care_->GetLink(route.therapist, route.client));
      if (link) held.link_since_ms = link->since_ms;
    }
    std::string key =
        keys::Scheduled(options.deliver_at_ms, sender.handle, sender.device_id, message_id);
    batch.Put(Table::kScheduledIndex,
              keys::ScheduledIndex(sender.handle, sender.device_id, message_id), key);
    batch.Put(Table::kScheduled, std::move(key), records::Encode(held));
    result.deliver_at_ms = options.deliver_at_ms;
    batch.Put(Table::kIdempotency, idempotency_key,
              records::Encode(records::Idempotency{now, digest, options.deliver_at_ms, ""}));
    SOTTO_RETURN_IF_ERROR(store_->Write(
        batch, options.defer_sync ? Durability::kBuffered : Durability::kSynced));
    if (indexed && route.from_client) {
      // The conversation starts waiting when the message is released.
      SOTTO_ASSIGN_OR_RETURN(
          result.expectation,
          conversations_->Expect(route.therapist, options.deliver_at_ms, now));
    }
    if (on_scheduled_) on_scheduled_(options.deliver_at_ms);
    return result;
  }

  StoredEnvelope stamp;
  stamp.sender = sender.handle;
  stamp.sender_device = sender.device_id;
  stamp.server_time_ms = now;
  stamp.message_id = std::string(message_id);
  std::vector<std::shared_ptr<const StoredEnvelope>> added;
  added.reserve(envelopes.size());
  SOTTO_RETURN_IF_ERROR(
      QueueInto(stamp, recipient, envelopes, /*enforce_depth=*/true, batch, &added));
  batch.Put(Table::kIdempotency, idempotency_key,
            records::Encode(records::Idempotency{now, digest, 0, ""}));
  int64_t oldest_waiting = 0;
  {
    std::unique_ptr<StripedLock> client_lock;
    if (indexed) {
      client_lock = conversations_->LockClient(route.client);
      SOTTO_ASSIGN_OR_RETURN(oldest_waiting, conversations_->AddMessageInto(route, now, batch));
    }
    // Deferred: later Sends to these queues read this write at once (it is
    // in the memtable); the caller's log sync makes it durable, and the
    // log keeps write order, so no later write can survive a crash without it.
    SOTTO_RETURN_IF_ERROR(store_->Write(
        batch, options.defer_sync ? Durability::kBuffered : Durability::kSynced));
  }
  if (indexed && route.from_client) {
    SOTTO_ASSIGN_OR_RETURN(result.expectation,
                           conversations_->Expect(route.therapist, oldest_waiting, now));
  }

  for (size_t i = 0; i < envelopes.size(); ++i) {
    std::string queue = keys::QueuePrefix(recipient, envelopes[i].device_id);
    if (options.defer_sync) {
      result.notify.push_back(QueueGrowth{std::move(queue), std::move(added[i])});
    } else {
      Notify(queue, added[i].get());
    }
  }
  return result;
}

absl::Status Mailbox::CancelScheduled(const AuthenticatedDevice& caller,
                                      absl::string_view message_id) {
  if (message_id.size() != kMessageIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message_id must be ", kMessageIdBytes, " bytes, got ", message_id.size()));
  }
  const std::string idempotency_key =
      keys::Idempotency(caller.handle, caller.device_id, message_id);
  bool found = false;
  {
    StripedLock lock(locks_, {idempotency_key});
    const std::string index_key =
        keys::ScheduledIndex(caller.handle, caller.device_id, message_id);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> scheduled_key,
                           store_->Get(Table::kScheduledIndex, index_key));
    if (scheduled_key) {
      WriteBatch batch;
      batch.Delete(Table::kScheduled, *scheduled_key);
      batch.Delete(Table::kScheduledIndex, index_key);
      batch.Delete(Table::kIdempotency, idempotency_key);
      // Unsynced under the lock (a Send on this lock stripe must not wait
      // for the disk); synced before the caller is told.
      SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
    }
    found = scheduled_key.has_value();
  }
  // Also before a NOT_FOUND: what was read may be an unsynced release or
  // cancel, which must not be reported before it is durable.
  SOTTO_RETURN_IF_ERROR(store_->SyncLog());
  if (!found) {
    return absl::NotFoundError(
        "no scheduled message with this message_id (never scheduled, already "
        "released, or cancelled)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> Mailbox::ReleaseDue() {
  while (true) {
    Released released;
    absl::StatusOr<bool> more = ReleaseBatch(released);
    // The batch's releases were written unsynced under their locks: one
    // sync for them (also after an error, for those already made), then
    // their recipients hear of them.
    if (released.wrote) {
      SOTTO_RETURN_IF_ERROR(store_->SyncLog());
      for (const std::string& queue : released.queues) Notify(queue, nullptr);
    }
    if (!more.ok()) return more.status();
    if (!*more) return released.next;
  }
}

absl::StatusOr<bool> Mailbox::ReleaseBatch(Released& released) {
  const int64_t now = clock_->NowMillis();
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         store_->Scan(Table::kScheduled, "", "", kScheduledReleaseBatch));
  for (const KeyValue& row : rows) {
    std::optional<int64_t> at = keys::ScheduledTimeOf(row.key);
    if (!at) return records::Corrupt("scheduled key");
    if (*at > now) {
      released.next = at;
      return false;
    }
    SOTTO_RETURN_IF_ERROR(ReleaseOne(row.key, row.value, released));
  }
  return rows.size() == kScheduledReleaseBatch;
}

absl::Status Mailbox::ReleaseOne(const std::string& scheduled_key, absl::string_view value,
                                 Released& released) {
  SOTTO_ASSIGN_OR_RETURN(records::Scheduled held, records::DecodeScheduled(value));
  WriteBatch drop;
  drop.Delete(Table::kScheduled, scheduled_key);
  drop.Delete(Table::kScheduledIndex,
              keys::ScheduledIndex(held.sender, held.sender_device, held.message_id));

  // Devices may have changed since the message was accepted: deliver to the
  // ones that remain.
  absl::StatusOr<std::vector<DeviceInfo>> devices = accounts_->Devices(held.recipient);
  if (!devices.ok() && devices.status().code() != absl::StatusCode::kNotFound) {
    return devices.status();
  }
  std::vector<OutgoingEnvelope> envelopes;
  if (devices.ok()) {
    for (OutgoingEnvelope& e : held.envelopes) {
      bool present = std::any_of(devices->begin(), devices->end(), [&](const DeviceInfo& d) {
        return d.device_id == e.device_id;
      });
      if (present) envelopes.push_back(std::move(e));
    }
  }

  std::vector<std::string> lock_keys = {
      keys::Idempotency(held.sender, held.sender_device, held.message_id)};
  for (const OutgoingEnvelope& e : envelopes) {
    lock_keys.push_back(keys::QueueMeta(held.recipient, e.device_id));
  }
  StripedLock lock(locks_, lock_keys);
  // Cancelled meanwhile?
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> still,
                         store_->Get(Table::kScheduled, scheduled_key));
  if (!still) return absl::OkStatus();
  // Writes are unsynced under the locks; ReleaseDue syncs them all.
  auto write = [&](const WriteBatch& batch) {
    absl::Status s = store_->Write(batch, Durability::kBuffered);
    if (s.ok()) released.wrote = true;
    return s;
  };
  if (envelopes.empty()) return write(drop);

  SOTTO_ASSIGN_OR_RETURN(std::optional<Role> role, accounts_->RoleOf(held.sender));
  if (!role) return write(drop);
  AuthenticatedDevice sender{held.sender, held.sender_device, *role};
  Route route;
  if (care_ != nullptr) {
    absl::StatusOr<Route> allowed = care_->CheckCanMessage(sender, held.recipient);
    if (!allowed.ok()) {
      // The link ended (or never was) by release time: not delivered.
      return write(drop);
    }
    route = *std::move(allowed);
    if (route.between_care_parties) {
      // A link ended and made again after the message was accepted is a new
      // relationship: what was written under the old one is not delivered.
      SOTTO_ASSIGN_OR_RETURN(std::optional<records::Link> link,
                             care_->GetLink(route.therapist, route.client));
      const bool same_link = held.link_since_ms != 0
                                 ? link && link->since_ms == held.link_since_ms
                                 : link && link->since_ms <= held.accepted_ms;
      if (!same_link) {
        return write(drop);
      }
    }
  }

  const int64_t now = clock_->NowMillis();
  StoredEnvelope stamp;
  stamp.sender = held.sender;
  stamp.sender_device = held.sender_device;
  stamp.server_time_ms = now;
  stamp.message_id = held.message_id;
  WriteBatch batch = drop;
  // The sender was told the message is accepted: a full queue does not drop
  // it.
  SOTTO_RETURN_IF_ERROR(
      QueueInto(stamp, held.recipient, envelopes, /*enforce_depth=*/false, batch));
  const bool indexed = conversations_ != nullptr && route.between_care_parties &&
                       held.kind == static_cast<uint32_t>(SendKind::kMessage);
  {
    std::unique_ptr<StripedLock> client_lock;
    if (indexed) {
      client_lock = conversations_->LockClient(route.client);
      SOTTO_RETURN_IF_ERROR(conversations_->AddMessageInto(route, now, batch).status());
    }
    SOTTO_RETURN_IF_ERROR(write(batch));
  }
  for (const OutgoingEnvelope& e : envelopes) {
    released.queues.push_back(keys::QueuePrefix(held.recipient, e.device_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Mailbox::SweepIdempotency() {
  size_t deleted = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kIdempotency, "", after, kSweepBatch));
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::Idempotency scanned,
                             records::DecodeIdempotency(row.value));
      if (clock_->NowMillis() < ExpiresAt(scanned)) continue;
      // Under the key's lock, read again: a Send may have reused the expired
      // id since the scan, and its new record must stay.
      StripedLock lock(locks_, {row.key});
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             store_->Get(Table::kIdempotency, row.key));
      if (!value) continue;
      SOTTO_ASSIGN_OR_RETURN(records::Idempotency current,
                             records::DecodeIdempotency(*value));
      if (clock_->NowMillis() < ExpiresAt(current)) continue;
      WriteBatch batch;
      batch.Delete(Table::kIdempotency, row.key);
      // Buffered: a delete lost in a machine crash is redone by the next sweep.
      SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
      ++deleted;
    }
    if (rows.size() < kSweepBatch) return deleted;
    after = rows.back().key;
  }
}

absl::StatusOr<size_t> Mailbox::SweepExpiredEnvelopes() {
  if (options_.retention_ms <= 0) return 0;
  size_t deleted = 0;
  std::string after;
  while (true) {
    // One row per device queue ever used; its key is the queue's prefix.
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> metas,
                           store_->Scan(Table::kQueueMeta, "", after, kSweepBatch));
    for (const KeyValue& m : metas) {
      // Queue meta is updated in place (rocksdb_store.cc), so a scan can read
      // a value while an Ack rewrites it (a depth of 256 going to 255 can
      // read as 0). A Get never sees half a write: an empty-looking queue is
      // skipped only if a Get agrees, and the counts written below come from
      // a Get under the queue's lock.
      absl::StatusOr<records::QueueMeta> scanned = records::DecodeQueueMeta(m.value);
      if (scanned.ok() && scanned->depth == 0) {
        SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> now,
                               store_->Get(Table::kQueueMeta, m.key));
        if (!now) continue;
        SOTTO_ASSIGN_OR_RETURN(records::QueueMeta current, records::DecodeQueueMeta(*now));
        if (current.depth == 0) continue;
      }
      const int64_t cutoff = clock_->NowMillis() - options_.retention_ms;
      // Under the queue's lock, as Send and Ack: the counts stay exact.
      StripedLock lock(locks_, {m.key});
      SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                             store_->Scan(Table::kQueues, m.key, "", kSweepBatch));
      WriteBatch batch;
      uint64_t n = 0;
      uint64_t freed = 0;
      for (const KeyValue& row : rows) {
        std::optional<uint64_t> seq = keys::QueueSeqOf(row.key);
        if (!seq) return records::Corrupt("queue key");
        SOTTO_ASSIGN_OR_RETURN(StoredEnvelope e, records::DecodeEnvelope(*seq, row.value));
        // Seqs follow storage time, so the first young one ends the run.
        if (e.server_time_ms > cutoff) break;
        batch.Delete(Table::kQueues, row.key);
        ++n;
        freed += row.value.size();
      }
      if (n == 0) continue;
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                             store_->Get(Table::kQueueMeta, m.key));
      if (!meta_value) return records::Corrupt("queue meta");
      SOTTO_ASSIGN_OR_RETURN(records::QueueMeta meta, records::DecodeQueueMeta(*meta_value));
      meta.depth = meta.depth >= n ? meta.depth - n : 0;
      meta.bytes = meta.bytes >= freed ? meta.bytes - freed : 0;
      batch.Put(Table::kQueueMeta, m.key, records::Encode(meta));
      // Unsynced under the queue's lock (a Send to this queue must not wait
      // for the disk); synced once below, before returning.
      SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
      deleted += n;
    }
    if (metas.size() < kSweepBatch) break;
    after = metas.back().key;
  }
  // A deleted envelope must not come back after a crash.
  if (deleted > 0) SOTTO_RETURN_IF_ERROR(store_->SyncLog());
  return deleted;
}

absl::StatusOr<FetchResult> Mailbox::Fetch(const AuthenticatedDevice& caller,
                                           uint64_t after_seq, uint32_t limit) {
  if (limit > kMaxFetchBatch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit ", limit, " is above the maximum of ", kMaxFetchBatch));
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

absl::StatusOr<uint32_t> Mailbox::Ack(const AuthenticatedDevice& caller,
                                      const std::vector<uint64_t>& seqs, bool defer_sync) {
  if (seqs.size() > kMaxAckBatch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seqs holds ", seqs.size(), " entries; at most ", kMaxAckBatch,
        " per call"));
  }
  if (seqs.empty()) return 0u;
  const std::string meta_key = keys::QueueMeta(caller.handle, caller.device_id);
  StripedLock lock(locks_, {meta_key});
  absl::flat_hash_set<uint64_t> unique(seqs.begin(), seqs.end());
  WriteBatch batch;
  uint32_t deleted = 0;
  uint64_t freed = 0;
  const auto [min_it, max_it] = std::minmax_element(unique.begin(), unique.end());
  const uint64_t lo = *min_it, hi = *max_it;
  if (hi - lo < 2 * static_cast<uint64_t>(unique.size())) {
    // A device acks what it just fetched: a dense run of seqs. One range
    // read instead of a point read per seq.
    const std::string prefix = keys::QueuePrefix(caller.handle, caller.device_id);
    SOTTO_ASSIGN_OR_RETURN(
        std::vector<KeyValue> rows,
        store_->Scan(Table::kQueues, prefix,
                     lo > 0 ? keys::Queue(caller.handle, caller.device_id, lo - 1) : "",
                     static_cast<size_t>(hi - lo + 1)));
    for (KeyValue& row : rows) {
      std::optional<uint64_t> seq = keys::QueueSeqOf(row.key);
      if (!seq) return records::Corrupt("queue key");
      if (*seq > hi) break;
      if (!unique.contains(*seq)) continue;
      ++deleted;
      freed += row.value.size();
      batch.Delete(Table::kQueues, std::move(row.key));
    }
  } else {
    for (uint64_t seq : unique) {
      std::string key = keys::Queue(caller.handle, caller.device_id, seq);
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             store_->Get(Table::kQueues, key));
      if (!value) continue;
      batch.Delete(Table::kQueues, std::move(key));
      ++deleted;
      freed += value->size();
    }
  }
  if (deleted == 0) return 0u;
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                         store_->Get(Table::kQueueMeta, meta_key));
  if (!meta_value) return records::Corrupt("queue meta");
  SOTTO_ASSIGN_OR_RETURN(records::QueueMeta meta,
                         records::DecodeQueueMeta(*meta_value));
  meta.depth = meta.depth >= deleted ? meta.depth - deleted : 0;
  meta.bytes = meta.bytes >= freed ? meta.bytes - freed : 0;
  batch.Put(Table::kQueueMeta, meta_key, records::Encode(meta));
  SOTTO_RETURN_IF_ERROR(
      store_->Write(batch, defer_sync ? Durability::kBuffered : Durability::kSynced));
  return deleted;
}

Mailbox::ListenerId Mailbox::AddListener(absl::string_view handle,
                                         uint32_t device_id,
                                         std::function<void(const StoredEnvelope*)> on_new) {
  absl::MutexLock lock(&listeners_mu_);
  ListenerId id = next_listener_id_++;
  std::string prefix = keys::QueuePrefix(handle, device_id);
  by_queue_[prefix].push_back(id);
  listeners_.emplace(id, Listener{std::move(prefix), std::move(on_new)});
  listener_count_.store(listeners_.size(), std::memory_order_relaxed);
  return id;
}

bool Mailbox::Listened(absl::string_view recipient, uint32_t device_id) {
  if (listener_count_.load(std::memory_order_relaxed) == 0) return false;
  absl::ReaderMutexLock lock(&listeners_mu_);
  return by_queue_.contains(keys::QueuePrefix(recipient, device_id));
}

void Mailbox::RemoveListener(ListenerId id) {
  absl::MutexLock lock(&listeners_mu_);
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  auto q = by_queue_.find(it->second.queue_prefix);
  if (q != by_queue_.end()) {
    std::vector<ListenerId>& ids = q->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) by_queue_.erase(q);
  }
  listeners_.erase(it);
  listener_count_.store(listeners_.size(), std::memory_order_relaxed);
}

void Mailbox::NotifyQueues(const std::vector<QueueGrowth>& queues) {
  for (const QueueGrowth& q : queues) Notify(q.queue_prefix, q.added.get());
}

void Mailbox::Notify(const std::string& queue_prefix, const StoredEnvelope* added) {
  absl::MutexLock lock(&listeners_mu_);
  auto q = by_queue_.find(queue_prefix);
  if (q == by_queue_.end()) return;
  for (ListenerId id : q->second) listeners_.at(id).on_new(added);
}

}  // namespace sotto::server
