#ifndef SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_
#define SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_

// Receipts waiting to be sent (Space kOutbox): one PendingReceipts record per
// (peer, receipt type), to which new message ids are added, and from which
// Receipt contents of at most kMaxReceiptIds ids are cut when sending.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sotto/client/records.pb.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client::history {

// The kOutbox key for (blinded peer, type): the blinded handle, then the type
// as one byte, so one Scan of the space finds every pending receipt.
std::string OutboxKey(absl::string_view blinded_peer, v1::content::Receipt::Type type);

// Appends `ids` that `pending` does not list yet, keeping the order.
void AddPending(const std::vector<std::string>& ids, PendingReceipts& pending);

// The Receipt contents that acknowledge everything in `pending`, each with at
// most kMaxReceiptIds ids, in order. Empty if nothing is pending.
std::vector<v1::content::Receipt> CutReceipts(const PendingReceipts& pending);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_
