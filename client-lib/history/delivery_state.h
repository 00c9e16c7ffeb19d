#ifndef SOTTO_CLIENT_LIB_HISTORY_DELIVERY_STATE_H_
#define SOTTO_CLIENT_LIB_HISTORY_DELIVERY_STATE_H_

// How an outgoing message's DeliveryState moves: sent -> delivered -> read,
// never back, whatever order receipts arrive in (a read receipt may overtake
// a delivery receipt, and both may be redelivered).

#include <cstdint>

#include "sotto/types.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client::history {

// The state stored in StoredMessage.state (0, from records written before
// states existed, reads as kSent; unknown numbers too).
DeliveryState StoredState(int32_t stored);

// The state after a receipt of `type` for the message arrived. Never
// downgrades (read > delivered > sent/scheduled). A cancelled message stays
// cancelled; a receipt of unknown type changes nothing.
DeliveryState ApplyReceipt(DeliveryState current, v1::content::Receipt::Type type);

// The state of a message the server has just accepted (held until later
// when `scheduled`); a receipt that overtook a lost answer is kept.
DeliveryState AfterAccepted(DeliveryState current, bool scheduled);

// The state to show at `now_ms` for a message stored with `state` and
// `server_time_ms` (for a scheduled message, its release time): a scheduled
// message whose time has passed has been released, so it is kSent.
DeliveryState ReportedState(DeliveryState state, int64_t server_time_ms, int64_t now_ms);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_DELIVERY_STATE_H_
