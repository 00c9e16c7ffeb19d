#ifndef SOTTO_CLIENT_LIB_IDENTITY_BASE32_H_
#define SOTTO_CLIENT_LIB_IDENTITY_BASE32_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto::client {

// `bytes` as a big-endian bit string, 5 bits per character of `alphabet`
// (32 characters; RFC 4648 base32 bit order, no padding). A tail of fewer
// than 5 bits is filled with zero bits into one last character. Invite codes
// and link codes use it, each with its own alphabet.
inline std::string Base32Encode(absl::string_view bytes, absl::string_view alphabet) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_IDENTITY_BASE32_H_
