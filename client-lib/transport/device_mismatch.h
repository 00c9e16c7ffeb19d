#ifndef SOTTO_CLIENT_LIB_TRANSPORT_DEVICE_MISMATCH_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_DEVICE_MISMATCH_H_

// The DeviceMismatch a refused Send carries (proto/sotto/v1/common.proto):
// read out of the error's google.rpc.Status details and checked before the
// client acts on it. The client deletes sessions and fetches bundles for the
// devices it names, so a breached server must not be able to point it at
// another person, at device 0, or at a list longer than any account has.

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/v1/common.pb.h"

namespace sotto::client::transport {

// The most device ids one list may name: the server's kMaxDevicesPerUser
// (server/domain/limits.h), the most devices an account can have.
inline constexpr int kMaxMismatchDevices = 16;

// `error_details` is the serialized google.rpc.Status of a FAILED_PRECONDITION
// answer to a Send for `recipient`. Returns nullopt if it holds no
// DeviceMismatch (an ordinary refusal, or details that do not parse), the
// mismatch if it is one the client can act on, and INTERNAL naming what is
// wrong if it is not: its user is not `recipient`, it names no device, a
// device id is 0 or listed twice (in one list or across lists), or a list
// names more than kMaxMismatchDevices. Thread-compatible; allocates only.
absl::StatusOr<std::optional<v1::DeviceMismatch>> ParseDeviceMismatch(
    absl::string_view error_details, absl::string_view recipient);

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_DEVICE_MISMATCH_H_
