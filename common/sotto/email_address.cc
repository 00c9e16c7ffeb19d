#include "sotto/email_address.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sotto {
namespace {

bool IsLocalChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-/=?^_`{|}~.", c);
}

bool IsLabelChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

absl::Status ValidateEmailAddress(absl::string_view address, absl::string_view field) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", why));
  };
  if (address.empty()) return bad("is empty");
  if (address.size() > kMaxEmailBytes) {
    return bad(absl::StrCat("is ", address.size(), " bytes; at most ", kMaxEmailBytes));
  }
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    // CR and LF first among them: they would end the mail header the
    // address is written into.
    if (u < 0x20 || u == 0x7f) return bad("contains a control character (such as CR or LF)");
    if (u == ' ') return bad("contains a space");
    if (u > 0x7f) return bad("contains a non-ASCII character");
  }
  const size_t at = address.find('@');
  if (at == absl::string_view::npos || address.find('@', at + 1) != absl::string_view::npos) {
    return bad("must have the shape name@example.org, with exactly one '@'");
  }
  const absl::string_view local = address.substr(0, at);
  const absl::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > kMaxEmailLocalBytes) {
    return bad(absl::StrCat("needs 1 to ", kMaxEmailLocalBytes, " bytes before the '@'"));
  }
  for (char c : local) {
    if (!IsLocalChar(c)) return bad("has a character not allowed before the '@'");
  }
  if (local.front() == '.' || local.back() == '.' || absl::StrContains(local, "..")) {
    return bad("has a misplaced '.' before the '@'");
  }
  const std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return bad("needs a domain such as example.org after the '@'");
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63) return bad("has an empty or over-long domain label");
    for (char c : label) {
      if (!IsLabelChar(c)) return bad("has a character not allowed in the domain");
    }
    if (label.front() == '-' || label.back() == '-') {
      return bad("has a domain label starting or ending with '-'");
    }
  }
  return absl::OkStatus();
}

}  // namespace sotto
