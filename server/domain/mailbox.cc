#include "server/domain/mailbox.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
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

}  // namespace

Mailbox::Mailbox(Store* store, Accounts* accounts, Clock* clock,
                 MailboxOptions options)
    : store_(store), accounts_(accounts), clock_(clock), options_(options) {}

absl::StatusOr<SendResult> Mailbox::Send(
    const AuthenticatedDevice& sender, absl::string_view recipient,
    absl::string_view message_id, const std::vector<OutgoingEnvelope>& envelopes) {
  SOTTO_RETURN_IF_ERROR(ValidateSend(message_id, envelopes));

  const std::string idempotency_key =
      keys::Idempotency(sender.handle, sender.device_id, message_id);
  std::vector<std::string> lock_keys = {idempotency_key};
  for (const OutgoingEnvelope& e : envelopes) {
    lock_keys.push_back(keys::QueueMeta(recipient, e.device_id));
  }
  StripedLock lock(locks_, lock_keys);

  const int64_t now = clock_->NowMillis();
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> previous,
                         store_->Get(Table::kIdempotency, idempotency_key));
  if (previous) {
    SOTTO_ASSIGN_OR_RETURN(records::Idempotency first,
                           records::DecodeIdempotency(*previous));
    if (now - first.server_time_ms < kIdempotencyRetentionMs) {
      return SendResult{first.server_time_ms, /*duplicate=*/true};
    }
  }

  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices,
                         accounts_->Devices(recipient));
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

  WriteBatch batch;
  for (const OutgoingEnvelope& e : envelopes) {
    std::string meta_key = keys::QueueMeta(recipient, e.device_id);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                           store_->Get(Table::kQueueMeta, meta_key));
    records::QueueMeta meta;
    if (meta_value) {
      SOTTO_ASSIGN_OR_RETURN(meta, records::DecodeQueueMeta(*meta_value));
    }
    if (meta.depth >= options_.max_queue_depth) {
      return absl::ResourceExhaustedError(
          absl::StrCat("queue of device ", recipient, ".", e.device_id,
                       " is full (", meta.depth, " undelivered envelopes)"));
    }
    StoredEnvelope stored;
    stored.seq = meta.next_seq;
    stored.sender = sender.handle;
    stored.sender_device = sender.device_id;
    stored.type = e.type;
    stored.ciphertext = e.ciphertext;
    stored.server_time_ms = now;
    stored.message_id = std::string(message_id);
    batch.Put(Table::kQueues, keys::Queue(recipient, e.device_id, stored.seq),
              records::Encode(stored));
    ++meta.next_seq;
    ++meta.depth;
    batch.Put(Table::kQueueMeta, std::move(meta_key), records::Encode(meta));
  }
  batch.Put(Table::kIdempotency, idempotency_key,
            records::Encode(records::Idempotency{now, std::string(recipient)}));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));

  for (const OutgoingEnvelope& e : envelopes) {
    Notify(keys::QueuePrefix(recipient, e.device_id));
  }
  return SendResult{now, /*duplicate=*/false};
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
                                      const std::vector<uint64_t>& seqs) {
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
  for (uint64_t seq : unique) {
    std::string key = keys::Queue(caller.handle, caller.device_id, seq);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           store_->Get(Table::kQueues, key));
    if (!value) continue;
    batch.Delete(Table::kQueues, std::move(key));
    ++deleted;
  }
  if (deleted == 0) return 0u;
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                         store_->Get(Table::kQueueMeta, meta_key));
  if (!meta_value) return records::Corrupt("queue meta");
  SOTTO_ASSIGN_OR_RETURN(records::QueueMeta meta,
                         records::DecodeQueueMeta(*meta_value));
  meta.depth = meta.depth >= deleted ? meta.depth - deleted : 0;
  batch.Put(Table::kQueueMeta, meta_key, records::Encode(meta));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return deleted;
}

Mailbox::ListenerId Mailbox::AddListener(absl::string_view handle,
                                         uint32_t device_id,
                                         std::function<void()> on_new) {
  absl::MutexLock lock(&listeners_mu_);
  ListenerId id = next_listener_id_++;
  std::string prefix = keys::QueuePrefix(handle, device_id);
  by_queue_[prefix].push_back(id);
  listeners_.emplace(id, Listener{std::move(prefix), std::move(on_new)});
  return id;
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
}

void Mailbox::Notify(const std::string& queue_prefix) {
  absl::MutexLock lock(&listeners_mu_);
  auto q = by_queue_.find(queue_prefix);
  if (q == by_queue_.end()) return;
  for (ListenerId id : q->second) listeners_.at(id).on_new();
}

}  // namespace sotto::server
