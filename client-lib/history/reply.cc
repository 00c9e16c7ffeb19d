#include "client-lib/history/reply.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client-lib/content/codec.h"

namespace sotto::client::history {

absl::StatusOr<std::string> NormalizeIdPrefix(absl::string_view prefix) {
  constexpr size_t kMaxChars = 2 * content::kMessageIdBytes;
  if (prefix.size() < kMinIdPrefixChars || prefix.size() > kMaxChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("message id '", prefix, "' must be ", kMinIdPrefixChars, " to ", kMaxChars,
                     " hex characters (the start of an id shown by `sotto read`)"));
  }
  std::string out = absl::AsciiStrToLower(prefix);
  for (char c : out) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("message id '", prefix, "' is not hexadecimal"));
    }
  }
  return out;
}

std::string ReplySubject(absl::string_view subject) {
  std::string out = absl::StartsWithIgnoreCase(subject, "re:") ? std::string(subject)
                                                               : absl::StrCat("Re: ", subject);
  if (out.size() > content::kMaxLetterSubjectBytes) {
    size_t cut = content::kMaxLetterSubjectBytes;
    // Don't cut a UTF-8 sequence in half.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

}  // namespace sotto::client::history
