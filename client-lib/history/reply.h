#ifndef SOTTO_CLIENT_LIB_HISTORY_REPLY_H_
#define SOTTO_CLIENT_LIB_HISTORY_REPLY_H_

// Answering a message: which message an id prefix names, and the subject of
// a reply letter.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::history {

// Fewest hex characters of a message id a user must give (24 bits: among a
// few thousand messages a collision is unlikely, and it is reported).
inline constexpr size_t kMinIdPrefixChars = 6;

// `prefix` lower-cased, after checking that it is kMinIdPrefixChars..32 hex
// characters. INVALID_ARGUMENT naming the problem otherwise.
absl::StatusOr<std::string> NormalizeIdPrefix(absl::string_view prefix);

// The subject of a reply to a letter with `subject`: "Re: " + subject, unless
// it already starts with "Re:" (any case) — so a thread never reads
// "Re: Re: Re:". Cut (at a UTF-8 boundary) to the letter subject limit.
std::string ReplySubject(absl::string_view subject);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_REPLY_H_
