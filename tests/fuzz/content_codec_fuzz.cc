// Fuzzes what a client does with a decrypted plaintext: Unpad and
// DecodeContent (client-lib/content). The plaintext comes from a peer, so
// every byte is hostile.
//
// Invariants:
//   - Pad/Unpad round trip: Unpad(Pad(x)) == x and Pad(x) is exactly
//     PaddedSize(|x|) bytes, a bucket >= kMinPaddedSize;
//   - Unpad(x), when OK, is a prefix of x, and x after it is 0x80 then zeros;
//   - DecodeContent is stable: a decoded Content re-encodes (EncodeContent) to
//     a plaintext that decodes to the same message; and if it also passes
//     ValidateContent, ValidateAndEncode accepts it;
//   - refusals are INVALID_ARGUMENT.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "client-lib/content/codec.h"
#include "client-lib/content/padding.h"
#include "tests/fuzz/fuzz_check.h"

namespace content = sotto::client::content;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string x(reinterpret_cast<const char*>(data), size);

  // Pad / Unpad.
  std::string padded = content::Pad(x);
  FUZZ_CHECK(padded.size() == content::PaddedSize(x.size()), "Pad length != PaddedSize");
  FUZZ_CHECK(padded.size() >= content::kMinPaddedSize && padded.size() > x.size(),
             "padded length too small");
  absl::StatusOr<std::string> unpadded = content::Unpad(padded);
  FUZZ_CHECK(unpadded.ok() && *unpadded == x, "Unpad(Pad(x)) != x");

  absl::StatusOr<std::string> stripped = content::Unpad(x);
  if (stripped.ok()) {
    FUZZ_CHECK(absl::StartsWith(x, *stripped), "Unpad result not a prefix");
    absl::string_view rest = absl::string_view(x).substr(stripped->size());
    FUZZ_CHECK(!rest.empty() && static_cast<uint8_t>(rest[0]) == 0x80, "no 0x80 marker");
    FUZZ_CHECK(rest.find_first_not_of('\0', 1) == absl::string_view::npos,
               "non-zero byte after the marker");
  } else {
    FUZZ_CHECK(stripped.status().code() == absl::StatusCode::kInvalidArgument,
               "bad padding not INVALID_ARGUMENT");
  }

  // DecodeContent.
  absl::StatusOr<sotto::v1::content::Content> decoded = content::DecodeContent(x);
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument,
               "bad content not INVALID_ARGUMENT");
    return 0;
  }
  std::string again_plain = content::EncodeContent(*decoded);
  absl::StatusOr<sotto::v1::content::Content> again = content::DecodeContent(again_plain);
  FUZZ_CHECK(again.ok(), "re-encoded content does not decode");
  FUZZ_CHECK(again->SerializeAsString() == decoded->SerializeAsString(),
             "content changes across encode/decode");
  if (content::ValidateContent(*decoded).ok()) {
    absl::StatusOr<std::string> sent = content::ValidateAndEncode(*decoded);
    FUZZ_CHECK(sent.ok() && *sent == again_plain, "ValidateAndEncode disagrees with EncodeContent");
  }
  return 0;
}
