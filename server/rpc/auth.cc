#include "server/rpc/auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/domain/limits.h"

namespace sotto::server::rpc {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<Credentials> ParseAuthorization(absl::string_view value) {
  if (!absl::StartsWith(value, kAuthScheme)) {
    return absl::UnauthenticatedError("authorization header must start with \"Sotto \"");
  }
  value.remove_prefix(sizeof(kAuthScheme) - 1);
  size_t colon = value.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::UnauthenticatedError(
        "authorization header must be \"Sotto <handle>.<device>:<secret>\"");
  }
  absl::string_view who = value.substr(0, colon);
  absl::string_view hex = value.substr(colon + 1);
  size_t dot = who.rfind('.');
  if (dot == absl::string_view::npos || dot == 0) {
    return absl::UnauthenticatedError("authorization header must name <handle>.<device>");
  }
  Credentials creds;
  creds.handle = std::string(who.substr(0, dot));
  absl::string_view device = who.substr(dot + 1);
  // Digits only: SimpleAtoi alone would also accept signs and whitespace.
  bool digits =
      !device.empty() && device.size() <= 10 &&
      std::all_of(device.begin(), device.end(), [](char c) { return absl::ascii_isdigit(c); });
  if (!digits || !absl::SimpleAtoi(device, &creds.device_id) || creds.device_id == 0) {
    return absl::UnauthenticatedError("authorization header has an invalid device id");
  }
  if (hex.size() != 2 * kDeviceSecretBytes) {
    return absl::UnauthenticatedError(absl::StrCat("authorization secret must be ",
                                                   2 * kDeviceSecretBytes,
                                                   " lowercase hex characters, got ", hex.size()));
  }
  creds.secret.reserve(kDeviceSecretBytes);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::UnauthenticatedError("authorization secret must be lowercase hex");
    }
    creds.secret.push_back(static_cast<char>(hi * 16 + lo));
  }
  return creds;
}

std::string PeerAddress(const grpc::CallbackServerContext& context) {
  std::string peer = context.peer();
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    size_t colon = peer.rfind(':');
    if (colon > 4) peer.resize(colon);
  }
  return peer;
}

std::string AccountAttemptKey(absl::string_view handle) { return absl::StrCat("account ", handle); }

std::vector<std::string> CodeAttemptKeys(absl::string_view source, absl::string_view handle) {
  // "handle", not AccountAttemptKey: probes of a registered handle's name
  // must not spend the budget its owner's AcceptInvite answers for.
  return {absl::StrCat("addr ", source), absl::StrCat("handle ", handle)};
}

absl::StatusOr<AuthenticatedDevice> AuthenticateCall(const grpc::CallbackServerContext& context,
                                                     Accounts& accounts) {
  const auto& metadata = context.client_metadata();
  auto range = metadata.equal_range(kAuthorizationKey);
  if (range.first == range.second) {
    return absl::UnauthenticatedError("missing authorization header");
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  absl::string_view value(range.first->second.data(), range.first->second.size());
  absl::StatusOr<Credentials> creds = ParseAuthorization(value);
  if (!creds.ok()) return creds.status();
  return accounts.Authenticate(creds->handle, creds->device_id, creds->secret);
}

}  // namespace sotto::server::rpc
