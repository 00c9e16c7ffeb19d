// Retention: the Mailbox deletes undelivered envelopes past
// MailboxOptions::retention_ms (mailbox.h has the contract).

#include "absl/time/clock.h"
#include "server/domain/conditional_write.h"
#include "server/domain/mailbox.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {

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
      SOTTO_ASSIGN_OR_RETURN(
          const uint64_t n,
          RetryAborted("the retention sweep", [&] { return SweepQueueLocked(m.key, cutoff); }));
      deleted += n;
    }
    if (metas.size() < kSweepBatch) break;
    after = metas.back().key;
  }
  // A deleted envelope must not come back after a crash.
  if (deleted > 0) SOTTO_RETURN_IF_ERROR(store_->SyncLog());
  return deleted;
}

absl::StatusOr<size_t> Mailbox::SweepRemovedQueues() {
  const int64_t cutoff = absl::ToUnixMillis(absl::Now()) - kRemovedQueueKeepMs;
  size_t deleted = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> metas,
                           store_->Scan(Table::kQueueMeta, "", after, kSweepBatch));
    for (const KeyValue& m : metas) {
      absl::StatusOr<records::QueueMeta> meta = records::DecodeQueueMeta(m.value);
      if (!meta.ok() || meta->removed_at_ms == 0 || meta->removed_at_ms > cutoff) continue;
      WriteBatch batch;
      batch.Expect(Table::kQueueMeta, m.key, m.value);
      batch.Delete(Table::kQueueMeta, m.key);
      absl::Status s = store_->Write(batch, Durability::kBuffered);
      if (s.ok()) {
        ++deleted;
      } else if (s.code() != absl::StatusCode::kAborted) {
        return s;
      }
    }
    if (metas.size() < kSweepBatch) return deleted;
    after = metas.back().key;
  }
}

absl::StatusOr<uint64_t> Mailbox::SweepQueueLocked(const std::string& meta_key, int64_t cutoff) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         store_->Scan(Table::kQueues, meta_key, "", kSweepBatch));
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
  if (n == 0) return 0;
  // A Send or Ack through another node since the read: ABORTED, swept again.
  SOTTO_RETURN_IF_ERROR(ShrinkMetaInto(meta_key, n, freed, batch));
  // Unsynced under the queue's lock (a Send to this queue must not wait
  // for the disk); SweepExpiredEnvelopes syncs once before returning.
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
  return n;
}

}  // namespace sotto::server
