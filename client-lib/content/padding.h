#ifndef SOTTO_CLIENT_LIB_CONTENT_PADDING_H_
#define SOTTO_CLIENT_LIB_CONTENT_PADDING_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::content {

// Padding of a plaintext before encryption, so that the server (which sees
// ciphertext sizes) learns only a size bucket. Part of the wire contract:
// every client must pad exactly like this.
//
// Marker: ISO/IEC 7816-4, as Signal does: the plaintext, then one 0x80 byte,
// then 0x00 bytes up to the padded length.
//
// Padded length, for a plaintext of L bytes (Padmé, Nikitin et al., PETS 2019,
// applied to n = L + 1, the plaintext plus its marker byte):
//   if n <= 160:  L' = 160                     (kMinPaddedSize)
//   otherwise:    E = floor(log2(n))           (n's highest set bit)
//                 S = floor(log2(E)) + 1       (bits needed to write E)
//                 z = E - S                    (low bits forced to zero)
//                 L' = ceil(n / 2^z) * 2^z     (= (n + 2^z - 1) & ~(2^z - 1))
// So L' keeps at most S significant bits: the overhead (L' - n) / n is below
// 2^-S, i.e. under 12.5% (under 6.25% once n >= 256), and a padded length
// reveals O(log log n) bits. Examples: n = 161..176 -> 176; n = 177 -> 192;
// n = 1000 -> 1024; n = 1024 -> 1024; n = 4097 -> 4352.
inline constexpr size_t kMinPaddedSize = 160;

// The padded length for a plaintext of `plaintext_size` bytes (formula above).
size_t PaddedSize(size_t plaintext_size);

// `plaintext` + 0x80 + zeros, PaddedSize(plaintext.size()) bytes long.
std::string Pad(absl::string_view plaintext);

// Strips trailing 0x00 bytes and the 0x80 before them. INVALID_ARGUMENT if
// there is no 0x80 marker after the trailing zeros (including empty input).
// Does not insist on the bucket size, so the scheme can change later.
absl::StatusOr<std::string> Unpad(absl::string_view padded);

}  // namespace sotto::client::content

#endif  // SOTTO_CLIENT_LIB_CONTENT_PADDING_H_
