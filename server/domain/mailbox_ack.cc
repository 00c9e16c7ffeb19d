// Mailbox's acknowledgement path (mailbox.h): deleting what a device has
// stored and shrinking its queue's meta, synced or with the group sync.
// The retention sweep shares ShrinkMetaInto.

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/mailbox.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {

absl::StatusOr<uint32_t> Mailbox::Ack(const AuthenticatedDevice& caller,
                                      const std::vector<uint64_t>& seqs) {
  return AckWith(caller, seqs, Durability::kSynced);
}

void Mailbox::Ack(const AuthenticatedDevice& caller, const std::vector<uint64_t>& seqs,
                  AckDone done) {
  absl::StatusOr<uint32_t> deleted = AckWith(caller, seqs, Durability::kBuffered);
  if (!deleted.ok()) {
    done(deleted.status());
    return;
  }
  store_->WhenDurable([acked = *deleted, done = std::move(done)](absl::Status synced) {
    if (!synced.ok()) {
      done(absl::UnavailableError(absl::StrCat("the acknowledgement could not be made durable (",
                                               synced.message(), "); ack again")));
      return;
    }
    done(acked);
  });
}

absl::StatusOr<uint32_t> Mailbox::AckWith(const AuthenticatedDevice& caller,
                                          const std::vector<uint64_t>& seqs,
                                          Durability durability) {
  if (seqs.size() > kMaxAckBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("seqs holds ", seqs.size(), " entries; at most ", kMaxAckBatch, " per call"));
  }
  if (seqs.empty()) return 0u;
  const std::string meta_key = keys::QueueMeta(caller.handle, caller.device_id);
  StripedLock lock(locks_, {meta_key});
  // The same ack through two nodes at once: the second write finds the
  // meta changed (ABORTED), reads again and finds the envelopes gone.
  return RetryAborted("the acknowledgement",
                      [&] { return AckLocked(caller, seqs, meta_key, durability); });
}

absl::StatusOr<uint32_t> Mailbox::AckLocked(const AuthenticatedDevice& caller,
                                            const std::vector<uint64_t>& seqs,
                                            const std::string& meta_key, Durability durability) {
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
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(Table::kQueues, key));
      if (!value) continue;
      batch.Delete(Table::kQueues, std::move(key));
      ++deleted;
      freed += value->size();
    }
  }
  if (deleted == 0) return 0u;
  // Acks go on while the disk is short of space: they are how it drains.
  SOTTO_RETURN_IF_ERROR(ShrinkMetaInto(meta_key, deleted, freed, batch));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, durability));
  return deleted;
}

absl::Status Mailbox::ShrinkMetaInto(const std::string& meta_key, uint64_t envelopes,
                                     uint64_t bytes, WriteBatch& batch) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                         store_->Get(Table::kQueueMeta, meta_key));
  if (!meta_value) return records::Corrupt("queue meta");
  SOTTO_ASSIGN_OR_RETURN(records::QueueMeta meta, records::DecodeQueueMeta(*meta_value));
  meta.depth = meta.depth >= envelopes ? meta.depth - envelopes : 0;
  meta.bytes = meta.bytes >= bytes ? meta.bytes - bytes : 0;
  batch.Expect(Table::kQueueMeta, meta_key, std::move(meta_value));
  batch.Put(Table::kQueueMeta, meta_key, records::Encode(meta));
  batch.MarkFreesSpace();
  return absl::OkStatus();
}

}  // namespace sotto::server
