#include "client-lib/content/padding.h"

#include "absl/status/status.h"

namespace sotto::client::content {
namespace {

// floor(log2(x)) for x >= 1.
size_t FloorLog2(size_t x) {
  size_t r = 0;
  while (x >>= 1) ++r;
  return r;
}

}  // namespace

size_t PaddedSize(size_t plaintext_size) {
  const size_t n = plaintext_size + 1;
  if (n <= kMinPaddedSize) return kMinPaddedSize;
  const size_t e = FloorLog2(n);
  const size_t s = FloorLog2(e) + 1;
  const size_t z = e - s;
  // n > kMinPaddedSize, so e >= 1 and s <= e: z is in [0, 63]. (clang's
  // analyzer does not follow FloorLog2's loop and assumes e = 0.)
  // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
  const size_t mask = (size_t{1} << z) - 1;
  return (n + mask) & ~mask;
}

std::string Pad(absl::string_view plaintext) {
  std::string out(PaddedSize(plaintext.size()), '\0');
  out.replace(0, plaintext.size(), plaintext.data(), plaintext.size());
  out[plaintext.size()] = static_cast<char>(0x80);
  return out;
}

absl::StatusOr<std::string> Unpad(absl::string_view padded) {
  size_t end = padded.size();
  while (end > 0 && padded[end - 1] == '\0') --end;
  if (end == 0 || static_cast<unsigned char>(padded[end - 1]) != 0x80) {
    return absl::InvalidArgumentError("bad padding: no 0x80 marker after the trailing zeros");
  }
  return std::string(padded.substr(0, end - 1));
}

}  // namespace sotto::client::content
