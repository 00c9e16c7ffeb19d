#ifndef SOTTO_SERVER_DOMAIN_DEVICE_MISMATCH_H_
#define SOTTO_SERVER_DOMAIN_DEVICE_MISMATCH_H_

// A Send whose envelopes do not cover exactly the recipient's current devices
// fails with FAILED_PRECONDITION carrying this, as an absl::Status payload.
// server/rpc turns it into a sotto.v1.DeviceMismatch in the gRPC status
// details; the domain does not know that message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sotto::server {

struct DeviceMismatch {
  std::string user;
  std::vector<uint32_t> missing_devices;  // recipient has, request lacks
  std::vector<uint32_t> extra_devices;    // request names, recipient lacks
  std::vector<uint32_t> stale_devices;    // registration id differs
  bool empty() const {
    return missing_devices.empty() && extra_devices.empty() && stale_devices.empty();
  }
};

// The payload type URL under which the mismatch is attached.
inline constexpr char kDeviceMismatchPayloadUrl[] = "sotto.server/DeviceMismatch";

// FAILED_PRECONDITION naming the user and the three lists, with `mismatch`
// attached as a payload.
absl::Status DeviceMismatchError(const DeviceMismatch& mismatch);

// The mismatch attached to `status`, nullopt if none (or undecodable).
std::optional<DeviceMismatch> GetDeviceMismatch(const absl::Status& status);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_DEVICE_MISMATCH_H_
