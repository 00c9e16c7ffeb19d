#include "client-lib/history/delivery_state.h"

namespace sotto::client::history {
namespace {

// Progress of a message that was (or will be) delivered; cancelled is apart.
int Rank(DeliveryState state) {
  switch (state) {
    case DeliveryState::kNotSent:
    case DeliveryState::kFailed:
    case DeliveryState::kScheduled:
      return 0;
    case DeliveryState::kSent:
      return 1;
    case DeliveryState::kDelivered:
      return 2;
    case DeliveryState::kRead:
      return 3;
    case DeliveryState::kCancelled:
      return -1;
  }
  return 1;
}

}  // namespace

DeliveryState StoredState(int32_t stored) {
  switch (stored) {
    case static_cast<int32_t>(DeliveryState::kScheduled):
    case static_cast<int32_t>(DeliveryState::kSent):
    case static_cast<int32_t>(DeliveryState::kDelivered):
    case static_cast<int32_t>(DeliveryState::kRead):
    case static_cast<int32_t>(DeliveryState::kCancelled):
    case static_cast<int32_t>(DeliveryState::kNotSent):
    case static_cast<int32_t>(DeliveryState::kFailed):
      return static_cast<DeliveryState>(stored);
    default:
      return DeliveryState::kSent;
  }
}

DeliveryState ApplyReceipt(DeliveryState current, v1::content::Receipt::Type type) {
  if (current == DeliveryState::kCancelled) return current;
  DeliveryState offered;
  switch (type) {
    case v1::content::Receipt::DELIVERED:
      offered = DeliveryState::kDelivered;
      break;
    case v1::content::Receipt::READ:
      offered = DeliveryState::kRead;
      break;
    default:
      return current;
  }
  return Rank(offered) > Rank(current) ? offered : current;
}

DeliveryState AfterAccepted(DeliveryState current, bool scheduled) {
  const DeliveryState accepted = scheduled ? DeliveryState::kScheduled : DeliveryState::kSent;
  // A receipt may have overtaken the answer that was lost the first time.
  return Rank(current) > Rank(accepted) ? current : accepted;
}

DeliveryState ReportedState(DeliveryState state, int64_t server_time_ms, int64_t now_ms) {
  if (state == DeliveryState::kScheduled && server_time_ms <= now_ms) return DeliveryState::kSent;
  return state;
}

}  // namespace sotto::client::history

namespace sotto {

const char* DeliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kScheduled:
      return "scheduled";
    case DeliveryState::kSent:
      return "sent";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kRead:
      return "read";
    case DeliveryState::kCancelled:
      return "cancelled";
    case DeliveryState::kNotSent:
      return "not_sent";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace sotto
