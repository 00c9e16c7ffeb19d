#include "server/storage/space_guard_store.h"

#include "sotto/metrics.h"

namespace sotto::server {

absl::Status OutOfStorageError() { return absl::ResourceExhaustedError(kOutOfStorageMessage); }

absl::Status SpaceGuardStore::Write(const WriteBatch& batch, Durability durability) {
  if (space_->Low() && !batch.frees_space()) {
    metrics::CountRefusal("disk_reserve");
    return OutOfStorageError();
  }
  // What the write-ahead log takes: the keys and values, and a few bytes of
  // framing per entry.
  uint64_t bytes = 0;
  for (const WriteBatch::Op& op : batch.ops()) {
    bytes += 16 + op.key.size() + (op.value ? op.value->size() : 0);
  }
  space_->Charge(bytes);
  return ForwardingStore::Write(batch, durability);
}

}  // namespace sotto::server
