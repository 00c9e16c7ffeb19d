#include "server/rpc/status_mapping.h"

#include <string>

#include "google/rpc/status.pb.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/rate_limiter.h"
#include "sotto/v1/common.pb.h"

namespace sotto::server::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both number google.rpc.Code.
  auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  if (std::optional<int64_t> wait = RetryAfterMs(status)) {
    sotto::v1::RetryInfo detail;
    detail.set_retry_after_ms(*wait);
    google::rpc::Status rich;
    rich.set_code(static_cast<int>(code));
    rich.set_message(message);
    rich.add_details()->PackFrom(detail);
    return grpc::Status(code, message, rich.SerializeAsString());
  }
  std::optional<DeviceMismatch> mismatch = GetDeviceMismatch(status);
  if (!mismatch) return grpc::Status(code, message);

  sotto::v1::DeviceMismatch detail;
  detail.set_user(mismatch->user);
  for (uint32_t d : mismatch->missing_devices) detail.add_missing_devices(d);
  for (uint32_t d : mismatch->extra_devices) detail.add_extra_devices(d);
  for (uint32_t d : mismatch->stale_devices) detail.add_stale_devices(d);
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(message);
  // Any::PackFrom uses the type.googleapis.com/ prefix.
  rich.add_details()->PackFrom(detail);
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace sotto::server::rpc
