#ifndef SOTTO_CLIENT_LIB_SESSION_SETUP_H_
#define SOTTO_CLIENT_LIB_SESSION_SETUP_H_

// Starting and repairing the Signal sessions with a recipient's devices from
// the server's key directory. Kept apart from Client so that the trust rules
// on the server's answers (a DeviceMismatch, a bundle) can be tested with real
// engines and no server.

#include <cstdint>
#include <functional>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/signal/engine.h"
#include "sotto/v1/common.pb.h"
#include "sotto/v1/keys.pb.h"

namespace sotto::client {

// Keys.GetBundle for the recipient.
using FetchBundles = std::function<absl::StatusOr<v1::GetBundleResponse>()>;

signal::Bundle ToBundle(const v1::PreKeyBundle& in);

// Fetches `to`'s bundles and starts a session with each device in `only`
// (every device when `only` is empty). Stops at the first device the engine
// refuses and returns its error: FAILED_PRECONDITION when its identity key is
// not trusted (a changed key, or a new device of a known user presenting an
// unknown key), so the caller sends nothing until the user decides. Sessions
// started before that stay (they are with trusted keys).
//
// GetBundle hands out a one-time prekey for EVERY device of `to`, so with an
// `only` filter the other devices' prekeys are used up for nothing. That is
// acceptable: it happens only when devices change, the stock is refilled by
// each device's next sync, and a bundle without a one-time prekey still works.
absl::Status StartSessions(signal::Engine& engine, absl::string_view to, const FetchBundles& fetch,
                           const absl::btree_set<uint32_t>& only);

// Applies the server's DeviceMismatch for `to`: forgets the sessions with
// extra and stale devices, then starts sessions with the stale and missing
// ones (StartSessions, with the same refusal of untrusted identities).
absl::Status RepairSessions(signal::Engine& engine, absl::string_view to,
                            const v1::DeviceMismatch& mismatch, const FetchBundles& fetch);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_SESSION_SETUP_H_
