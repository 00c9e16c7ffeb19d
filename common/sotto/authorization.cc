#include "sotto/authorization.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sotto {

std::string AuthorizationValue(absl::string_view handle, uint32_t device_id,
                               absl::string_view secret) {
  return absl::StrCat(kAuthorizationScheme, handle, ".", device_id, ":",
                      absl::BytesToHexString(secret));
}

}  // namespace sotto
