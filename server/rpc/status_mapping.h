#ifndef SOTTO_SERVER_RPC_STATUS_MAPPING_H_
#define SOTTO_SERVER_RPC_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace sotto::server::rpc {

// The same code and message. A status carrying a DeviceMismatch payload
// (server/domain/device_mismatch.h) also gets error_details: a serialized
// google.rpc.Status whose details hold one Any packing sotto.v1.DeviceMismatch;
// a rate-limit refusal (RetryAfterMs, rate_limiter.h) one packing
// sotto.v1.RetryInfo.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_STATUS_MAPPING_H_
