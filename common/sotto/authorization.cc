#include "sotto/authorization.h"

#include "absl/strings/str_cat.h"

namespace sotto {

std::string AuthorizationValue(absl::string_view handle, uint32_t device_id,
                               absl::string_view secret) {
  // Hex written straight into a buffer reserved for it, so that no
  // temporary copy of the secret is freed unwiped: the caller can wipe the
  // one value this returns (the client does, client-lib/transport).
  std::string out = absl::StrCat(kAuthorizationScheme, handle, ".", device_id, ":");
  out.reserve(out.size() + 2 * secret.size());
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : secret) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

}  // namespace sotto
