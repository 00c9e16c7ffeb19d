#ifndef SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_
#define SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_

// Between the wire (sotto.v1) and the public structs of sotto/types.h: the
// care and queue calls' answers, the reply expectation of a Send.

#include <optional>

#include "absl/status/status.h"
#include "sotto/types.h"
#include "sotto/v1/care.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

std::optional<ReplyExpectation> ToExpectation(const v1::SendResponse& response);

v1::ResponsePolicy ToProto(const ResponsePolicy& in);
ResponsePolicy FromProto(const v1::ResponsePolicy& in);
ConversationState FromProto(v1::ConversationState state);
QueueEntry FromProto(const v1::QueueEntry& in);
CareLink FromProto(const v1::CareLink& in);

// The server's minimum (care.proto, ResponsePolicy), checked before the call
// so that a typo is reported without a round trip. The server also checks
// that the time zone is a real IANA name.
absl::Status ValidatePolicy(const ResponsePolicy& policy);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_
