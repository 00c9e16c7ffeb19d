#ifndef SOTTO_SERVER_DOMAIN_QUEUE_TOTALS_H_
#define SOTTO_SERVER_DOMAIN_QUEUE_TOTALS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "server/storage/store.h"

namespace sotto::server {

// What waits for delivery across every device queue, for the metrics
// endpoint. No per-device figure leaves this struct: it says how much
// waits, never for whom.
struct QueueTotals {
  uint64_t envelopes = 0;       // undelivered envelopes, all queues
  uint64_t bytes = 0;           // their stored bytes
  uint64_t queues_waiting = 0;  // device queues holding at least one
  uint64_t deepest = 0;         // envelopes in the fullest queue
};

// Sums the queue counters the mailbox keeps (one kQueueMeta row per
// device: the cost grows with devices, not with envelopes), in pages, so
// it never holds a large snapshot. Each row is read as the store has it at
// that moment: a scrape during Sends may be a few envelopes off, never
// drifting. Errors: the store's.
absl::StatusOr<QueueTotals> SumQueues(Store* store);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_QUEUE_TOTALS_H_
