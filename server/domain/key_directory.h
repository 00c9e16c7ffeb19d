#ifndef SOTTO_SERVER_DOMAIN_KEY_DIRECTORY_H_
#define SOTTO_SERVER_DOMAIN_KEY_DIRECTORY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/call_context.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct PreKeyCount {
  uint32_t one_time_prekeys = 0;
  uint32_t signed_prekey_id = 0;
};

// Publishes and hands out the public keys X3DH needs. Thread-safe. Does not
// own `store` or `accounts`; both must outlive it.
class KeyDirectory {
 public:
  KeyDirectory(Store* store, Accounts* accounts);
  KeyDirectory(const KeyDirectory&) = delete;
  KeyDirectory& operator=(const KeyDirectory&) = delete;

  // What Upload does with the one-time prekeys already stored.
  enum class OneTimePreKeys {
    kAdd,      // keeps them; an id already stored is overwritten
    kReplace,  // deletes them all in the same write (a restored device)
  };

  // Stores `keys` for the caller's device: one-time prekeys are added (an id
  // already stored is replaced) or, with kReplace, become the whole stock; a
  // signed prekey replaces the current one.
  // `keys.identity_key` must be empty or equal to the registered one. Returns
  // the number of one-time prekeys now stored. Errors: INVALID_ARGUMENT
  // (malformed key, bad signature, identity differs, too many in one call),
  // RESOURCE_EXHAUSTED (more than kMaxStoredPreKeys would be stored).
  // `call` is recorded in the audit trail.
  absl::StatusOr<uint32_t> Upload(const AuthenticatedDevice& caller, const DeviceKeys& keys,
                                  const CallContext& call = {},
                                  OneTimePreKeys mode = OneTimePreKeys::kAdd);

  // One bundle per device of `handle`, ascending device id. Each bundle takes
  // (removes) at most one one-time prekey, which no other call receives, even
  // after a machine crash: the removal is synced before this returns;
  // without one left the bundle has the signed prekey only.
  // With `take_one_time_prekeys` false no one-time prekey is taken or
  // returned (the caller's rate limit for `handle` is spent: X3DH still works
  // without one, and nobody can drain another user's supply).
  // `skip_device` (when not 0) is left out, its prekeys untouched: a device
  // fetching its own account's bundles gets its other devices only.
  // Errors: INVALID_ARGUMENT (malformed handle), NOT_FOUND (no such user).
  absl::StatusOr<std::vector<PreKeyBundle>> GetBundle(absl::string_view handle,
                                                      bool take_one_time_prekeys = true,
                                                      uint32_t skip_device = 0);

  // The caller's remaining one-time prekeys and current signed prekey id.
  absl::StatusOr<PreKeyCount> CountPreKeys(const AuthenticatedDevice& caller);

 private:
  // The kind byte of a device's upload stamp in kPreKeys (key_codec.h):
  // a counter each Upload moves with a conditional write (UploadLocked).
  static constexpr char kUploadStamp = 0x04;

  absl::StatusOr<size_t> CountOneTimePreKeys(absl::string_view handle, uint32_t device_id);
  // Upload's read-count-write, once; the caller holds device_locks_ and
  // retries it on ABORTED.
  absl::StatusOr<uint32_t> UploadLocked(const AuthenticatedDevice& caller, const DeviceKeys& upload,
                                        const CallContext& call, OneTimePreKeys mode);

  Store* const store_;
  Accounts* const accounts_;
  // Serialises Upload's count-then-write per device.
  StripedMutex device_locks_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_KEY_DIRECTORY_H_
