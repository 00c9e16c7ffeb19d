#include "server/domain/queue_totals.h"

#include <algorithm>
#include <string>
#include <vector>

#include "server/domain/records.h"

namespace sotto::server {

absl::StatusOr<QueueTotals> SumQueues(Store* store) {
  constexpr size_t kPage = 1024;
  QueueTotals totals;
  std::string after;
  for (;;) {
    absl::StatusOr<std::vector<KeyValue>> page = store->Scan(Table::kQueueMeta, "", after, kPage);
    if (!page.ok()) return page.status();
    for (const KeyValue& row : *page) {
      absl::StatusOr<records::QueueMeta> meta = records::DecodeQueueMeta(row.value);
      if (!meta.ok()) return meta.status();
      totals.envelopes += meta->depth;
      totals.bytes += meta->bytes;
      if (meta->depth > 0) ++totals.queues_waiting;
      totals.deepest = std::max(totals.deepest, meta->depth);
    }
    if (page->size() < kPage) return totals;
    after = page->back().key;
  }
}

}  // namespace sotto::server
