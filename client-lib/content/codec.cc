#include "client-lib/content/codec.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "client-lib/content/padding.h"

namespace sotto::client::content {
namespace {

using ::sotto::v1::content::Content;

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else
      return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status ValidateBody(const Content& content) {
  if (content.has_text()) {
    const std::string& body = content.text().body();
    if (body.size() > kMaxTextBodyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("text body is ", body.size(), " bytes; the limit is ", kMaxTextBodyBytes));
    }
    if (!IsValidUtf8(body)) return absl::InvalidArgumentError("text body is not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateContent(const Content& content) {
  if (content.body_case() == Content::BODY_NOT_SET) {
    return absl::InvalidArgumentError("content has no body");
  }
  if (content.has_text() && content.text().body().empty()) {
    return absl::InvalidArgumentError("text body is empty");
  }
  return ValidateBody(content);
}

std::string EncodeContent(const Content& content) { return Pad(content.SerializeAsString()); }

absl::StatusOr<std::string> ValidateAndEncode(const Content& content) {
  absl::Status s = ValidateContent(content);
  if (!s.ok()) return s;
  return EncodeContent(content);
}

absl::StatusOr<Content> DecodeContent(absl::string_view plaintext) {
  if (plaintext.size() > kMaxPaddedPlaintextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plaintext is ", plaintext.size(), " bytes; the limit is ", kMaxPaddedPlaintextBytes));
  }
  absl::StatusOr<std::string> unpadded = Unpad(plaintext);
  if (!unpadded.ok()) return unpadded.status();
  Content content;
  if (!content.ParseFromString(*unpadded)) {
    return absl::InvalidArgumentError("plaintext is not a sotto.v1.content.Content");
  }
  absl::Status s = ValidateBody(content);
  if (!s.ok()) return s;
  return content;
}

}  // namespace sotto::client::content
