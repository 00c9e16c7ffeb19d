#ifndef SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_
#define SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_

// Between the wire (sotto.v1) and the public structs of sotto/types.h: the
// care and queue calls' answers, the reply expectation of a Send.
//
// The server is not trusted with what it sends back either (a breached one
// could put a terminal escape or a bidi override where a handle belongs, and
// an app would show it as a person's name): every handle in an answer is
// checked here, where it leaves the wire type, and an answer holding an
// invalid one is refused as a whole (INTERNAL, the code gRPC itself uses for
// a malformed response) rather than passed on with the entry dropped, so
// that an app never shows a list the server has silently shortened.

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/types.h"
#include "sotto/v1/care.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

std::optional<ReplyExpectation> ToExpectation(const v1::SendResponse& response);

v1::ResponsePolicy ToProto(const ResponsePolicy& in);
ResponsePolicy FromProto(const v1::ResponsePolicy& in);
ConversationState FromProto(v1::ConversationState state);

// OK if `handle`, which the server sent as `what` (e.g. "link.peer in
// ListLinks"), is a valid handle (profile/handle.h); else INTERNAL naming
// the field and the value, hex-escaped so that the message itself is safe to
// print. `may_be_empty` for optional fields (claimed_by, ended_by).
absl::Status CheckServerHandle(absl::string_view what, absl::string_view handle,
                               bool may_be_empty = false);

// The answers of ListLinks and ListQueue; INTERNAL (CheckServerHandle) if
// any handle in them is invalid.
absl::StatusOr<std::vector<CareLink>> FromProto(const v1::ListLinksResponse& in);
absl::StatusOr<QueueView> FromProto(const v1::ListQueueResponse& in);

// The server's minimum (care.proto, ResponsePolicy), checked before the call
// so that a typo is reported without a round trip. The server also checks
// that the time zone is a real IANA name.
absl::Status ValidatePolicy(const ResponsePolicy& policy);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_CONVERT_WIRE_TYPES_H_
