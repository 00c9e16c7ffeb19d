// Send later: the Mailbox's held messages, cancelled by their sender or
// released when due (Mailbox::Send holds them; mailbox.h has the contracts).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/mailbox.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {

absl::Status Mailbox::CancelScheduled(const AuthenticatedDevice& caller,
                                      absl::string_view message_id) {
  if (message_id.size() != kMessageIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message_id must be ", kMessageIdBytes, " bytes, got ", message_id.size()));
  }
  const std::string idempotency_key =
      keys::Idempotency(caller.handle, caller.device_id, message_id);
  bool found = false;
  {
    StripedLock lock(locks_, {idempotency_key});
    const std::string index_key = keys::ScheduledIndex(caller.handle, caller.device_id, message_id);
    // Expects the held message as read: a release by another node since
    // makes the write ABORTED, and the next attempt finds it gone (never
    // "cancelled" for a message that was delivered).
    SOTTO_ASSIGN_OR_RETURN(found, RetryAborted("the cancellation", [&]() -> absl::StatusOr<bool> {
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> scheduled_key,
                             store_->Get(Table::kScheduledIndex, index_key));
      if (!scheduled_key) return false;
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> held,
                             store_->Get(Table::kScheduled, *scheduled_key));
      WriteBatch batch;
      batch.Expect(Table::kScheduledIndex, index_key, scheduled_key);
      batch.Expect(Table::kScheduled, *scheduled_key, std::move(held));
      batch.Delete(Table::kScheduled, *scheduled_key);
      batch.Delete(Table::kScheduledIndex, index_key);
      batch.Delete(Table::kIdempotency, idempotency_key);
      // Unsynced under the lock (a Send on this lock stripe must not wait
      // for the disk); synced before the caller is told.
      SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
      return true;
    }));
  }
  // Also before a NOT_FOUND: what was read may be an unsynced release or
  // cancel, which must not be reported before it is durable.
  SOTTO_RETURN_IF_ERROR(store_->SyncLog());
  if (!found) {
    return absl::NotFoundError(
        "no scheduled message with this message id (never scheduled, already "
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
      for (const std::string& queue : released.queues) listeners_.Notify(queue, nullptr);
      if (on_message_) {
        for (const std::string& recipient : released.recipients) on_message_(recipient);
      }
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

namespace {

// The batch that forgets a held message: what ReleaseOne writes whether or
// not it delivers.
WriteBatch DropHeld(const std::string& scheduled_key, const records::Scheduled& held) {
  WriteBatch drop;
  drop.Delete(Table::kScheduled, scheduled_key);
  drop.Delete(Table::kScheduledIndex,
              keys::ScheduledIndex(held.sender, held.sender_device, held.message_id));
  return drop;
}

// The sender's idempotency record, the sender device's held messages (the
// key Mailbox::RemoveDevice locks: a removal either deletes the message
// before the "still held?" check below or waits for the release) and the
// queue meta of each recipient device released to.
std::vector<std::string> ReleaseLockKeys(const records::Scheduled& held,
                                         const std::vector<OutgoingEnvelope>& envelopes) {
  std::vector<std::string> lock_keys = {
      keys::Idempotency(held.sender, held.sender_device, held.message_id),
      keys::ScheduledIndex(held.sender, held.sender_device, "")};
  for (const OutgoingEnvelope& e : envelopes) {
    lock_keys.push_back(keys::QueueMeta(held.recipient, e.device_id));
  }
  return lock_keys;
}

}  // namespace

absl::Status Mailbox::ReleaseOne(const std::string& scheduled_key, absl::string_view value,
                                 Released& released) {
  SOTTO_ASSIGN_OR_RETURN(records::Scheduled held, records::DecodeScheduled(value));
  const WriteBatch drop = DropHeld(scheduled_key, held);
  SOTTO_ASSIGN_OR_RETURN(std::vector<OutgoingEnvelope> envelopes,
                         TakeEnvelopesForRemainingDevices(held));

  StripedLock lock(locks_, ReleaseLockKeys(held, envelopes));
  // The write expects the held message as read: released or cancelled by
  // another node since, it is ABORTED and the next attempt finds it gone.
  return RetryAborted("releasing a held message", [&] {
    return ReleaseLocked(scheduled_key, value, held, envelopes, drop, released);
  });
}

absl::Status Mailbox::ReleaseLocked(const std::string& scheduled_key, absl::string_view value,
                                    const records::Scheduled& held,
                                    const std::vector<OutgoingEnvelope>& envelopes,
                                    WriteBatch drop, Released& released) {
  // Cancelled meanwhile?
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> still,
                         store_->Get(Table::kScheduled, scheduled_key));
  if (!still) return absl::OkStatus();
  drop.Expect(Table::kScheduled, scheduled_key, std::move(still));
  if (envelopes.empty()) return WriteReleased(drop, released);
  SOTTO_ASSIGN_OR_RETURN(std::optional<Route> route, RouteRelease(held));
  if (!route) return WriteReleased(drop, released);
  absl::Status delivered = DeliverReleased(held, envelopes, *route, drop, released);
  if (delivered.code() != absl::StatusCode::kResourceExhausted) return delivered;
  // A recipient queue is full (depth or bytes): hold the message until
  // there is room, trying again kHeldRetryMs from now. The releaser would
  // otherwise fill the queue past the quota that Send enforces.
  const std::string retry_key = keys::Scheduled(clock_->NowMillis() + kHeldRetryMs, held.sender,
                                                held.sender_device, held.message_id);
  WriteBatch postpone;
  postpone.Expect(Table::kScheduled, scheduled_key, std::string(value));
  postpone.Delete(Table::kScheduled, scheduled_key);
  postpone.Put(Table::kScheduled, retry_key, std::string(value));
  postpone.Put(Table::kScheduledIndex,
               keys::ScheduledIndex(held.sender, held.sender_device, held.message_id), retry_key);
  return WriteReleased(postpone, released);
}

absl::StatusOr<std::vector<OutgoingEnvelope>> Mailbox::TakeEnvelopesForRemainingDevices(
    records::Scheduled& held) {
  // Devices may have changed since the message was accepted: deliver to the
  // ones that remain.
  absl::StatusOr<std::vector<DeviceInfo>> devices = accounts_->Devices(held.recipient);
  if (!devices.ok() && devices.status().code() != absl::StatusCode::kNotFound) {
    return devices.status();
  }
  std::vector<OutgoingEnvelope> envelopes;
  if (devices.ok()) {
    for (OutgoingEnvelope& e : held.envelopes) {
      bool present = std::any_of(devices->begin(), devices->end(),
                                 [&](const DeviceInfo& d) { return d.device_id == e.device_id; });
      if (present) envelopes.push_back(std::move(e));
    }
  }
  return envelopes;
}

absl::StatusOr<std::optional<Route>> Mailbox::RouteRelease(const records::Scheduled& held) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<Role> role, accounts_->RoleOf(held.sender));
  if (!role) return std::nullopt;
  // A removed device's held messages are deleted with it; one that got
  // past that is dropped here, never sent in its name.
  SOTTO_ASSIGN_OR_RETURN(bool sender_present,
                         accounts_->HasDevice(held.sender, held.sender_device));
  if (!sender_present) return std::nullopt;
  // Both ends must be active at release: a deactivated sender's held
  // messages are not delivered for them (the account may be compromised),
  // and a deactivated recipient receives nothing. Dropped, not kept:
  // reactivation does not bring them back.
  for (absl::string_view end :
       {absl::string_view(held.sender), absl::string_view(held.recipient)}) {
    absl::Status active = accounts_->CheckActive(end);
    if (active.code() == absl::StatusCode::kFailedPrecondition) return std::nullopt;
    SOTTO_RETURN_IF_ERROR(active);
  }
  if (care_ == nullptr) return Route();
  AuthenticatedDevice sender{held.sender, held.sender_device, *role};
  absl::StatusOr<Route> allowed = care_->CheckCanMessage(sender, held.recipient);
  if (!allowed.ok()) {
    // The link ended (or never was) by release time: not delivered.
    return std::nullopt;
  }
  Route route = *std::move(allowed);
  if (route.between_care_parties) {
    // A link ended and made again after the message was accepted is a new
    // relationship: what was written under the old one is not delivered.
    SOTTO_ASSIGN_OR_RETURN(std::optional<records::Link> link,
                           care_->GetLink(route.therapist, route.client));
    const bool same_link = held.link_since_ms != 0 ? link && link->since_ms == held.link_since_ms
                                                   : link && link->since_ms <= held.accepted_ms;
    if (!same_link) return std::nullopt;
  }
  return route;
}

absl::Status Mailbox::DeliverReleased(const records::Scheduled& held,
                                      const std::vector<OutgoingEnvelope>& envelopes,
                                      const Route& route, const WriteBatch& drop,
                                      Released& released) {
  const int64_t now = clock_->NowMillis();
  StoredEnvelope stamp;
  stamp.sender = held.sender;
  stamp.sender_device = held.sender_device;
  stamp.server_time_ms = now;
  stamp.message_id = held.message_id;
  WriteBatch batch = drop;
  // Within the queue quota, as a Send: RESOURCE_EXHAUSTED (nothing
  // written) makes ReleaseOne hold the message longer.
  SOTTO_RETURN_IF_ERROR(QueueInto(stamp, held.recipient, envelopes, /*enforce_depth=*/true, batch));
  const bool indexed = conversations_ != nullptr && route.between_care_parties &&
                       held.kind == static_cast<uint32_t>(SendKind::kMessage);
  {
    std::unique_ptr<StripedLock> client_lock;
    if (indexed) {
      client_lock = conversations_->LockClient(route.client);
      SOTTO_RETURN_IF_ERROR(conversations_->AddMessageInto(route, now, batch).status());
    }
    SOTTO_RETURN_IF_ERROR(WriteReleased(batch, released));
  }
  for (const OutgoingEnvelope& e : envelopes) {
    released.queues.push_back(keys::QueuePrefix(held.recipient, e.device_id));
  }
  if (held.kind == static_cast<uint32_t>(SendKind::kMessage) && !envelopes.empty()) {
    released.recipients.push_back(held.recipient);
  }
  return absl::OkStatus();
}

absl::Status Mailbox::WriteReleased(const WriteBatch& batch, Released& released) {
  // Unsynced under the release's locks; ReleaseDue syncs them all.
  absl::Status s = store_->Write(batch, Durability::kBuffered);
  if (s.ok()) released.wrote = true;
  return s;
}

}  // namespace sotto::server
