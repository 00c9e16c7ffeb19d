#ifndef SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_
#define SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_

// Receipts waiting to be sent (Space kOutbox): one PendingReceipts row per
// (peer, receipt type, batch) under OutboxRowKey — a batch being the messages
// of one Sync page or Listen burst from that peer, or those one call marked
// read — and from the rows of one
// (peer, type) Receipt contents of at most kMaxReceiptIds ids are cut when
// sending. Profiles from before issue 21 may still hold one row per (peer,
// type) under OutboxKey itself, listing many ids; it is read as a group of
// its own and shrinks as its ids go out. (One list row per pair cost a
// rewrite of the whole list with every message received: quadratic in a
// backlog.)

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sotto/client/records.pb.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client::history {

// The kOutbox type of our own messages waiting to be sent again to a peer
// whose device could not read them (it asked with a RESEND receipt). Not a
// Receipt.Type on the wire: only the outbox uses it.
inline constexpr auto kResendOwnMessages = static_cast<v1::content::Receipt::Type>(127);
// How many times one message is sent again on request: enough for a
// restore or two, too few for a contact to turn one message into a flood.
inline constexpr uint32_t kMaxResends = 3;

// The kOutbox key for (blinded peer, type): the blinded handle, then the type
// as one byte, so one Scan of the space finds every pending receipt.
std::string OutboxKey(absl::string_view blinded_peer, v1::content::Receipt::Type type);

// The kOutbox key of one batch's pending receipts: the group (OutboxKey)
// then the blinded id of the batch's first message.
std::string OutboxRowKey(absl::string_view group, absl::string_view blinded_id);
// The group (OutboxKey) of a kOutbox key, row or old list.
absl::string_view OutboxGroup(absl::string_view key);

// Appends `ids` that `pending` does not list yet, keeping the order.
void AddPending(const std::vector<std::string>& ids, PendingReceipts& pending);

// The Receipt contents that acknowledge everything in `pending`, each with at
// most kMaxReceiptIds ids, in order. Empty if nothing is pending.
std::vector<v1::content::Receipt> CutReceipts(const PendingReceipts& pending);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_OUTBOX_H_
