#ifndef SOTTO_CLIENT_LIB_STORAGE_BIG_ENDIAN_H_
#define SOTTO_CLIENT_LIB_STORAGE_BIG_ENDIAN_H_

// Fixed-width big-endian integers in the local store's own records (the
// header and the manifest), so their bytes do not depend on the machine.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto::client::storage {

inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads 8 bytes; `in` must hold at least 8 (callers check lengths first).
inline uint64_t GetU64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_BIG_ENDIAN_H_
