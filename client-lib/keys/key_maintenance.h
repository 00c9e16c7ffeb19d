#ifndef SOTTO_CLIENT_LIB_KEYS_KEY_MAINTENANCE_H_
#define SOTTO_CLIENT_LIB_KEYS_KEY_MAINTENANCE_H_

// Keeping this device reachable: the server's stock of one-time prekeys
// topped up and the signed prekey fresh, so that people can always start a
// session with it.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/signal/engine.h"
#include "sotto/v1/keys.pb.h"

namespace sotto::client {

// Upload this many one-time prekeys at registration and top the server's
// stock back up to it when it falls below kPreKeyRefillBelow.
inline constexpr uint32_t kPreKeyStock = 100;
inline constexpr uint32_t kPreKeyRefillBelow = 25;
// Signal's own clients rotate the signed prekey every few days; a week bounds
// how long a stolen signed prekey stays useful.
inline constexpr absl::Duration kSignedPreKeyLifetime = absl::Hours(24 * 7);

void FillSignedPreKey(const signal::SignedPreKeyData& in, v1::SignedPreKey* out);
void FillPreKeys(const std::vector<signal::OneTimePreKeyData>& in, v1::DeviceKeys* out);

// Counts the server's stock and uploads what is due. Holds the session's
// lock only to make keys, never across a call to the server. Returns the
// first error (our store, or the server).
absl::Status MaintainKeys(ProfileSession& session) ABSL_LOCKS_EXCLUDED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_KEYS_KEY_MAINTENANCE_H_
