#ifndef SOTTO_SERVER_DOMAIN_RESPONSE_POLICY_H_
#define SOTTO_SERVER_DOMAIN_RESPONSE_POLICY_H_

// A therapist's published response policy (proto: sotto.v1.ResponsePolicy):
// the server's default and its storage encoding. Pure functions of their
// arguments: no clock, no storage, thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/reply_due.h"

namespace sotto::server {

// The policy struct, its validation and the due computation live in
// common/sotto/reply_due.h, shared with the client library's PreviewDue so
// that a preview and the server's due time are one computation (issue 18).
using ResponsePolicy = ::sotto::reply_due::Policy;
using ::sotto::reply_due::ReplyDueMs;
using ::sotto::reply_due::ValidatePolicy;

// The server default for therapists who never set a policy: "UTC",
// Monday–Friday, 09:00–17:00, 480 minutes, no away period.
ResponsePolicy DefaultPolicy();

// Compact, stable storage encoding: a version byte (1), then the fields in
// declaration order (working days as one byte each). Meant for a policy that
// passed ValidatePolicy; values outside the validated ranges do not survive
// the round trip.
std::string EncodePolicy(const ResponsePolicy& policy);

// The inverse of EncodePolicy. DATA_LOSS if `bytes` is not exactly the
// encoding of a valid policy: unknown version, short or trailing bytes, or
// field values ValidatePolicy would refuse (apart from the time zone, which is
// checked only for form, so a zone later removed from tzdata still decodes and
// fails in ReplyDueMs instead).
absl::StatusOr<ResponsePolicy> DecodePolicy(absl::string_view bytes);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_RESPONSE_POLICY_H_
