#include "client-lib/content/codec.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdlib>

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

absl::Status CheckUtf8Field(absl::string_view what, const std::string& value, size_t limit) {
  if (value.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", value.size(), " bytes; the limit is ", limit));
  }
  if (!IsValidUtf8(value))
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid UTF-8"));
  return absl::OkStatus();
}

absl::Status CheckMessageId(absl::string_view what, const std::string& id, bool may_be_empty) {
  if ((id.empty() && may_be_empty) || id.size() == kMessageIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is ", id.size(), " bytes; a message id is ", kMessageIdBytes));
}

// The checks that hold for content in both directions: sizes, encodings and
// id lengths. (Emptiness and receipt types are checked only when sending.)
absl::Status ValidateBody(const Content& content) {
  absl::Status s = CheckMessageId("resend_of", content.resend_of(), true);
  if (!s.ok()) return s;
  if (!content.resend_of().empty() && !content.has_text() && !content.has_letter()) {
    return absl::InvalidArgumentError("only a text or a letter can be a resend");
  }
  switch (content.body_case()) {
    case Content::kText:
      return CheckUtf8Field("text body", content.text().body(), kMaxTextBodyBytes);
    case Content::kLetter: {
      const auto& letter = content.letter();
      s = CheckUtf8Field("letter subject", letter.subject(), kMaxLetterSubjectBytes);
      if (s.ok()) s = CheckUtf8Field("letter body", letter.body(), kMaxLetterBodyBytes);
      if (s.ok()) s = CheckMessageId("letter in_reply_to", letter.in_reply_to(), true);
      if (s.ok()) s = CheckMessageId("letter thread_id", letter.thread_id(), true);
      return s;
    }
    case Content::kReceipt: {
      const auto& ids = content.receipt().message_ids();
      if (static_cast<size_t>(ids.size()) > kMaxReceiptIds) {
        return absl::InvalidArgumentError(
            absl::StrCat("receipt lists ", ids.size(), " messages; the limit is ", kMaxReceiptIds));
      }
      for (const std::string& id : ids) {
        s = CheckMessageId("receipt message id", id, false);
        if (!s.ok()) return s;
      }
      return s;
    }
    case Content::kSentTranscript: {
      const auto& t = content.sent_transcript();
      if (t.recipient().empty()) return absl::InvalidArgumentError("transcript has no recipient");
      s = CheckMessageId("transcript message id", t.message_id(), false);
      if (!s.ok()) return s;
      // What was sent is a text or a letter; never another transcript.
      if (!t.message().has_text() && !t.message().has_letter()) {
        return absl::InvalidArgumentError("transcript holds neither a text nor a letter");
      }
      return ValidateBody(t.message());
    }
    case Content::kReadSync: {
      const auto& ids = content.read_sync().message_ids();
      if (content.read_sync().peer().empty()) {
        return absl::InvalidArgumentError("read sync has no peer");
      }
      if (ids.empty() || static_cast<size_t>(ids.size()) > kMaxReceiptIds) {
        return absl::InvalidArgumentError(absl::StrCat(
            "read sync lists ", ids.size(), " messages; 1..", kMaxReceiptIds, " are allowed"));
      }
      for (const std::string& id : ids) {
        s = CheckMessageId("read sync message id", id, false);
        if (!s.ok()) return s;
      }
      return s;
    }
    case Content::kCancelSync:
      if (content.cancel_sync().recipient().empty()) {
        return absl::InvalidArgumentError("cancel sync has no recipient");
      }
      return CheckMessageId("cancel sync message id", content.cancel_sync().message_id(), false);
    case Content::BODY_NOT_SET:
      return s;
  }
  return s;
}

}  // namespace

std::string NewMessageId() {
  std::string id(kMessageIdBytes, '\0');
  // RAND_bytes only fails when the OS has no entropy source at all.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    std::abort();
  }
  return id;
}

absl::Status ValidateContent(const Content& content) {
  if (content.body_case() == Content::BODY_NOT_SET) {
    return absl::InvalidArgumentError("content has no body");
  }
  if (content.has_text() && content.text().body().empty()) {
    return absl::InvalidArgumentError("text body is empty");
  }
  if (content.has_letter() && content.letter().subject().empty()) {
    return absl::InvalidArgumentError("letter subject is empty");
  }
  if (content.has_letter() && content.letter().body().empty()) {
    return absl::InvalidArgumentError("letter body is empty");
  }
  if (content.has_receipt()) {
    const auto type = content.receipt().type();
    if (type != v1::content::Receipt::DELIVERED && type != v1::content::Receipt::READ &&
        type != v1::content::Receipt::RESEND) {
      return absl::InvalidArgumentError("receipt type must be DELIVERED, READ or RESEND");
    }
    if (content.receipt().message_ids().empty()) {
      return absl::InvalidArgumentError("receipt lists no messages");
    }
  }
  return ValidateBody(content);
}

std::string EncodeContent(const Content& content) {
  // The unpadded serialization is a plaintext too: wiped once padded.
  std::string serialized = content.SerializeAsString();
  std::string padded = Pad(serialized);
  OPENSSL_cleanse(serialized.data(), serialized.size());
  return padded;
}

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
  const bool parsed = content.ParseFromString(*unpadded);
  OPENSSL_cleanse(unpadded->data(), unpadded->size());
  if (!parsed) return absl::InvalidArgumentError("plaintext is not a sotto.v1.content.Content");
  absl::Status s = ValidateBody(content);
  if (!s.ok()) return s;
  return content;
}

}  // namespace sotto::client::content
