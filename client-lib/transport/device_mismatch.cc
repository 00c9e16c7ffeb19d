#include "client-lib/transport/device_mismatch.h"

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"

namespace sotto::client::transport {
namespace {

absl::Status Refused(absl::string_view why) {
  return absl::InternalError(
      absl::StrCat("the server's DeviceMismatch ", why, "; the answer was refused"));
}

// Adds one list's ids to `seen`; refuses 0, repeats and overlong lists.
absl::Status CheckList(absl::string_view name,
                       const google::protobuf::RepeatedField<uint32_t>& devices,
                       absl::flat_hash_set<uint32_t>& seen) {
  if (devices.size() > kMaxMismatchDevices) {
    return Refused(absl::StrCat("lists ", devices.size(), " ", name, " devices (at most ",
                                kMaxMismatchDevices, ")"));
  }
  for (uint32_t device : devices) {
    if (device == 0) return Refused(absl::StrCat("names device 0 among the ", name, " devices"));
    if (!seen.insert(device).second) {
      return Refused(absl::StrCat("names device ", device, " twice (again as ", name, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<v1::DeviceMismatch>> ParseDeviceMismatch(
    absl::string_view error_details, absl::string_view recipient) {
  google::rpc::Status details;
  if (error_details.empty() ||
      !details.ParseFromArray(error_details.data(), static_cast<int>(error_details.size()))) {
    return std::nullopt;
  }
  for (const auto& any : details.details()) {
    v1::DeviceMismatch mismatch;
    if (!any.Is<v1::DeviceMismatch>()) continue;
    if (!any.UnpackTo(&mismatch)) return Refused("does not parse");
    if (mismatch.user() != recipient) {
      return Refused(absl::StrCat("is about \"", absl::CHexEscape(mismatch.user()),
                                  "\", not the recipient ", recipient));
    }
    absl::flat_hash_set<uint32_t> seen;
    for (const auto& [name, list] :
         {std::pair<absl::string_view, const google::protobuf::RepeatedField<uint32_t>*>{
              "missing", &mismatch.missing_devices()},
          {"extra", &mismatch.extra_devices()},
          {"stale", &mismatch.stale_devices()}}) {
      if (absl::Status s = CheckList(name, *list, seen); !s.ok()) return s;
    }
    if (seen.empty()) return Refused("names no device");
    return mismatch;
  }
  return std::nullopt;
}

}  // namespace sotto::client::transport
