#ifndef SOTTO_CLIENT_LIB_DEVICES_JOIN_H_
#define SOTTO_CLIENT_LIB_DEVICES_JOIN_H_

// Both ends of linking a device (docs/PROTOCOL.md, "Linking a device"):
// the existing device's side (SendProvisioning) and the new device's
// (JoinProfile: answer the code, open the provisioning message, make the
// profile, Devices.Link).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/devices.h"
#include "sotto/local_store.h"

namespace sotto::client::devices {

// The existing device's side of Client::LinkDevice (sotto/client.h has the
// contract). Takes `s.mu` only for local work, never across a call.
absl::Status SendProvisioning(ProfileSession& s, const std::vector<std::string>& contacts,
                              const LinkDeviceOptions& options);

struct Joined {
  std::unique_ptr<ProfileSession> session;
  int contacts = 0;
  std::optional<HistoryTicket> history;
};

// The new device's side of Client::JoinWithLinkCode, into `store` (empty,
// just created by the caller, who destroys it on failure).
absl::StatusOr<Joined> JoinProfile(const JoinOptions& options,
                                   std::unique_ptr<storage::LocalStore> store);

}  // namespace sotto::client::devices

#endif  // SOTTO_CLIENT_LIB_DEVICES_JOIN_H_
