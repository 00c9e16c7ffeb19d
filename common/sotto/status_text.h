#ifndef SOTTO_COMMON_SOTTO_STATUS_TEXT_H_
#define SOTTO_COMMON_SOTTO_STATUS_TEXT_H_

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sotto {

// `status` with `more` appended to its message (same code), keeping its
// payloads (e.g. the transport's "sotto.dev/detail", which `--verbose`
// prints). OK stays OK.
inline absl::Status AppendToMessage(const absl::Status& status, absl::string_view more) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(status.message(), more));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace sotto

#endif  // SOTTO_COMMON_SOTTO_STATUS_TEXT_H_
