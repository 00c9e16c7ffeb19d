// Fuzzes the parsers a request's identity passes through before any storage
// is touched: the `authorization` metadata value (ParseAuthorization) and the
// handle rules (Accounts::ValidateHandle).
//
// Invariants: a parsed header names a device id in 1..2^32-1 and a secret of
// exactly kDeviceSecretBytes; re-writing the parsed credentials in canonical
// form parses back to the same credentials; a handle ValidateHandle accepts
// is short and never contains 0x00 (key_codec.h relies on that for its
// `handle 0x00 ...` prefixes).

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/limits.h"
#include "server/rpc/auth.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sotto::server::rpc::Credentials;
  using sotto::server::rpc::ParseAuthorization;
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<Credentials> creds = ParseAuthorization(input);
  if (creds.ok()) {
    FUZZ_CHECK(creds->device_id != 0, "device id 0 accepted");
    FUZZ_CHECK(creds->secret.size() == sotto::server::kDeviceSecretBytes,
               "secret of the wrong length accepted");
    FUZZ_CHECK(!creds->handle.empty(), "empty handle accepted");
    std::string canonical = absl::StrCat("Sotto ", creds->handle, ".", creds->device_id, ":",
                                         absl::BytesToHexString(creds->secret));
    absl::StatusOr<Credentials> again = ParseAuthorization(canonical);
    FUZZ_CHECK(again.ok(), "canonical form of accepted credentials refused");
    FUZZ_CHECK(again->handle == creds->handle && again->device_id == creds->device_id &&
                   again->secret == creds->secret,
               "canonical form parses to different credentials");
  } else {
    FUZZ_CHECK(creds.status().code() == absl::StatusCode::kUnauthenticated,
               "malformed header not UNAUTHENTICATED");
  }

  absl::Status handle = sotto::server::Accounts::ValidateHandle(input);
  if (handle.ok()) {
    FUZZ_CHECK(!input.empty() && input.size() <= 32, "handle length out of range accepted");
    FUZZ_CHECK(input.find('\0') == absl::string_view::npos, "handle with 0x00 accepted");
  } else {
    FUZZ_CHECK(handle.code() == absl::StatusCode::kInvalidArgument,
               "bad handle not INVALID_ARGUMENT");
  }
  return 0;
}
