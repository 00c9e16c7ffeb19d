#ifndef SOTTO_CLIENT_LIB_CONTENT_CODEC_H_
#define SOTTO_CLIENT_LIB_CONTENT_CODEC_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client::content {

// Limits on what a Content may hold.
inline constexpr size_t kMaxTextBodyBytes = 4096;
inline constexpr size_t kMaxLetterSubjectBytes = 200;
// 48 KiB: a padded letter at this size still fits one envelope
// (messages.proto, kMaxCiphertextBytes = 65,536) with Signal's overhead.
inline constexpr size_t kMaxLetterBodyBytes = 48 * 1024;
inline constexpr size_t kMaxReceiptIds = 1000;
// Message ids (and so in_reply_to, thread_id, receipt ids) are 16 bytes.
inline constexpr size_t kMessageIdBytes = 16;
// The largest plaintext (padded) DecodeContent accepts: anything bigger is
// not something a conforming client sends.
inline constexpr size_t kMaxPaddedPlaintextBytes = 256 * 1024;

// 16 fresh random bytes: a new message id (a send's idempotency key).
std::string NewMessageId();

// OK if `content` may be sent: it has a body; a Text body is valid UTF-8 of
// 1..kMaxTextBodyBytes bytes (an empty text is not a message); a Letter has a
// UTF-8 subject of 1..kMaxLetterSubjectBytes and body of
// 1..kMaxLetterBodyBytes, and in_reply_to / thread_id empty or
// kMessageIdBytes long; a Receipt is DELIVERED or READ with
// 1..kMaxReceiptIds ids of kMessageIdBytes each.
// INVALID_ARGUMENT naming the problem otherwise.
absl::Status ValidateContent(const sotto::v1::content::Content& content);

// The plaintext to encrypt: the serialized Content, padded (padding.h).
// Does not validate: call ValidateContent first (or use ValidateAndEncode).
std::string EncodeContent(const sotto::v1::content::Content& content);

// ValidateContent, then EncodeContent.
absl::StatusOr<std::string> ValidateAndEncode(const sotto::v1::content::Content& content);

// Unpads and parses a decrypted plaintext. INVALID_ARGUMENT for bad padding,
// an unparsable message, a plaintext over kMaxPaddedPlaintextBytes or a body
// over its limit or not UTF-8, a malformed message id or a receipt with too
// many ids (empty texts, letters and receipts, and unknown receipt types, are
// accepted from others: the caller decides what to show). A Content whose
// body is of a kind this client does not know (body_case() == BODY_NOT_SET)
// is returned as is, so newer senders do not break older receivers.
absl::StatusOr<sotto::v1::content::Content> DecodeContent(absl::string_view plaintext);

}  // namespace sotto::client::content

#endif  // SOTTO_CLIENT_LIB_CONTENT_CODEC_H_
