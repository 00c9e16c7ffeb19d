#ifndef SOTTO_SERVER_DOMAIN_ACCOUNTS_H_
#define SOTTO_SERVER_DOMAIN_ACCOUNTS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/call_context.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct Registration {
  std::string handle;
  Role role = Role::kUnspecified;
  std::string device_secret;  // kDeviceSecretBytes
  uint32_t registration_id = 0;
  DeviceKeys keys;  // identity key and signed prekey required
};

struct DeviceInfo {
  uint32_t device_id = 0;
  uint32_t registration_id = 0;
  // Given at linking (empty for a registered first device) and when the
  // device joined (0 in records older than issue 16).
  std::string name;
  int64_t linked_at_ms = 0;
};

// A device joining an existing account (Devices.Link).
struct NewDevice {
  std::string device_secret;  // kDeviceSecretBytes
  uint32_t registration_id = 0;
  DeviceKeys keys;   // identity key must be the account's; signed prekey required
  std::string name;  // at most kMaxDeviceNameBytes, no control characters
  int64_t linked_at_ms = 0;
};

struct AccountInfo {
  std::string handle;
  Role role = Role::kUnspecified;
  std::vector<uint32_t> device_ids;  // ascending
};

// Accounts, devices and device authentication. Thread-safe. Does not own
// `store`, which must outlive it.
class Accounts {
 public:
  explicit Accounts(Store* store);
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  // Creates the account and its device 1 with the device's keys in one atomic
  // synced write; returns the device id (1). Errors: INVALID_ARGUMENT naming
  // the field (handle, role, device_secret, registration_id, keys),
  // ALREADY_EXISTS if the handle is taken.
  // `call` is recorded in the audit trail (as for every call below that
  // takes one).
  absl::StatusOr<uint32_t> Register(const Registration& registration, const CallContext& call = {});

  // Called by Register after the request is validated and BEFORE the handle
  // is looked up, while the handle's lock is held, with the batch about to
  // be written: it checks a further condition (an enrolment or invite code)
  // and may add writes that must commit atomically with the account. Its
  // error is returned as is and nothing is written (nor read: so a caller
  // without a valid code cannot learn, by the answer or its time, whether
  // the handle is taken). Only if it succeeds can ALREADY_EXISTS follow.
  using RegisterHook = std::function<absl::Status(WriteBatch& batch)>;
  absl::StatusOr<uint32_t> Register(const Registration& registration, const RegisterHook& hook,
                                    const CallContext& call = {});

  // The role of `handle`, nullopt if there is no such account. Errors:
  // storage failures only (the handle is not validated).
  absl::StatusOr<std::optional<Role>> RoleOf(absl::string_view handle);

  // Adds a device to the caller's account with its keys (no RPC exposes this
  // yet; device linking will). Returns the new device id (NextDeviceId:
  // never a removed device's).
  // Errors: INVALID_ARGUMENT as for Register, RESOURCE_EXHAUSTED when the
  // account already has kMaxDevicesPerUser devices.
  absl::StatusOr<uint32_t> AddDevice(const AuthenticatedDevice& caller,
                                     absl::string_view device_secret, uint32_t registration_id,
                                     const DeviceKeys& keys, const CallContext& call = {});

  // Adds a device linked by `linked_by` (a device of `handle`, named in the
  // audit entry device.linked) with `device`'s keys. The identity key must
  // equal the one of the account's existing devices: linked devices share
  // it, and a contact's client accepts no other. Returns the new device id
  // (highest + 1). Errors: INVALID_ARGUMENT naming the field (as Register,
  // plus name and "keys.identity_key is not the account's identity key"),
  // NOT_FOUND (no such account), RESOURCE_EXHAUSTED (kMaxDevicesPerUser).
  absl::StatusOr<uint32_t> LinkDevice(absl::string_view handle, uint32_t linked_by,
                                      const NewDevice& device, const CallContext& call = {});

  // Removes `device_id` of the caller's account (the caller's own id too) in
  // one synced write: its credentials, public keys, queue, queue meta,
  // idempotency records and the send-later messages it holds (they must not
  // go out in the name of a device the user removed). The queue is removed
  // under the mailbox's lock of that queue (`queue_lock`, see mailbox.h) so
  // no Send adds to it mid-removal. Audited as device.removed; then the
  // device-removed listener runs. Errors: INVALID_ARGUMENT (device_id 0),
  // NOT_FOUND (no such device of the account), FAILED_PRECONDITION (the
  // account's only device).
  absl::Status RemoveDevice(const AuthenticatedDevice& caller, uint32_t device_id,
                            const CallContext& call = {});

  // OK if `name` may name a device: at most kMaxDeviceNameBytes of UTF-8
  // without control characters. Else INVALID_ARGUMENT.
  static absl::Status ValidateDeviceName(absl::string_view name);

  // What a new device's request alone decides (name, secret, registration
  // id, keys with the signed prekey's signature), INVALID_ARGUMENT naming
  // the field; and whether `device` may join `handle`'s account now, linked
  // by `linked_by`: NOT_FOUND (no such account), FAILED_PRECONDITION
  // (deactivated), PERMISSION_DENIED (`linked_by` was removed: its codes
  // die with it), INVALID_ARGUMENT (not the account's identity key).
  // Devices.Link calls it before it uses up the link token, so a bad
  // request costs the user no new code; LinkDevice calls it again under
  // the handle's lock.
  absl::Status CheckLinkable(absl::string_view handle, uint32_t linked_by,
                             const NewDevice& device);

  // Checks `secret` against the device's stored salted hash in constant time.
  // Errors: UNAUTHENTICATED with the same message whether the handle, the
  // device or the secret is wrong.
  absl::StatusOr<AuthenticatedDevice> Authenticate(absl::string_view handle, uint32_t device_id,
                                                   absl::string_view secret);

  // Operator action: sets whether `handle` is deactivated, audited as an
  // operator action. A deactivated account keeps its data but cannot
  // authenticate, and Sends to it fail; deactivating calls the closed
  // listener (SetClosedListener). Errors: INVALID_ARGUMENT (handle),
  // NOT_FOUND (no such user), FAILED_PRECONDITION (already in that state).
  absl::Status SetDeactivated(absl::string_view handle, bool deactivated);

  // Called on the calling thread after a RemoveDevice is durable, so that
  // whatever the device still holds open (Subscribe streams, link codes it
  // created) ends with it. Set once, before serving.
  using DeviceRemovedListener = std::function<void(absl::string_view handle, uint32_t device_id)>;
  void SetDeviceRemovedListener(DeviceRemovedListener listener) {
    on_device_removed_ = std::move(listener);
  }

  // Whether `handle` has device `device_id` now. Errors: storage only.
  absl::StatusOr<bool> HasDevice(absl::string_view handle, uint32_t device_id);

  // Why an account's access ended.
  enum class Closed { kDeactivated, kDeleted };
  using ClosedListener = std::function<void(absl::string_view handle, Closed why)>;
  // Calls `listener` on the calling thread after each deactivation or
  // deletion is durable, so that whatever is still open for the handle (its
  // Subscribe streams) ends. Something opened after the listener ran sees
  // the account closed in the store. Set once, before serving.
  void SetClosedListener(ClosedListener listener) { on_closed_ = std::move(listener); }

  // OK if `handle` may receive messages; FAILED_PRECONDITION if the operator
  // deactivated it. A missing account is OK here (callers check existence).
  absl::Status CheckActive(absl::string_view handle);
  // CheckActive that also returns the account row as read (nullopt: no
  // account), for a write that must not land after the account is deleted
  // through another node: it expects the row as read (Mailbox's Send).
  absl::StatusOr<std::optional<std::string>> ReadActive(absl::string_view handle);

  // Deletes the caller's account and everything on the server that names
  // the person (account_deletion.cc): every device with its keys and queue,
  // the account record, their held send-later messages and the ones held
  // for them, idempotency records, their response policy, their care links
  // (both rows: the other side keeps no link naming them), the queue index
  // entries of those links and the invite codes they created. One atomic
  // synced write, with an account.deleted audit entry (the operator's trail
  // keeps that it happened), then the closed listener runs. Envelopes they
  // sent that wait in other people's queues stay: they are those people's
  // mail. The handle can be registered again afterwards and the new account
  // sees nothing of this one. Errors: storage only.
  // `now_ms` is no longer used (links are deleted, not marked ended at it).
  absl::Status DeleteAccount(const AuthenticatedDevice& caller, int64_t now_ms,
                             const CallContext& call = {});

  // The caller's account.
  absl::StatusOr<AccountInfo> WhoAmI(const AuthenticatedDevice& caller);

  // The devices of `handle`, ascending. Errors: INVALID_ARGUMENT (not a
  // valid handle), NOT_FOUND (no such user). One Store::Read.
  absl::StatusOr<std::vector<DeviceInfo>> Devices(absl::string_view handle);

  // Devices (and CheckActive) in two halves, for a caller that makes these
  // reads together with its own in one Store::Read (a Send, whose every
  // read is a round trip on PostgreSQL): AddDeviceReads adds them to
  // `batch` (INVALID_ARGUMENT as Devices for a malformed handle, before
  // anything is read), DevicesFrom answers from what `read` found as
  // Devices would, then, with `check_active`, as CheckActive would.
  struct DeviceReads {
    size_t account = 0;  // in ReadResult::values
    size_t devices = 0;  // in ReadResult::scans
  };
  static absl::StatusOr<DeviceReads> AddDeviceReads(absl::string_view handle, ReadBatch& batch);
  static absl::StatusOr<std::vector<DeviceInfo>> DevicesFrom(absl::string_view handle,
                                                             const DeviceReads& reads,
                                                             const ReadResult& read,
                                                             bool check_active);

  // OK if `handle` follows the handle rules (limits.h), else INVALID_ARGUMENT.
  static absl::Status ValidateHandle(absl::string_view handle);

 private:
  // RemoveDevice's scan-and-write, once (handle_locks_ held; retried on
  // ABORTED).
  absl::Status RemoveDeviceLocked(const AuthenticatedDevice& caller, uint32_t device_id,
                                  const CallContext& call);
  // Checks secret, registration id and keys; builds the writes of one device.
  absl::StatusOr<WriteBatch> NewDeviceBatch(absl::string_view handle, uint32_t device_id,
                                            absl::string_view device_secret,
                                            uint32_t registration_id, const DeviceKeys& keys,
                                            absl::string_view name = "",
                                            int64_t linked_at_ms = 0);

  // Adds to `batch` the expectations that order DeleteAccount against
  // Sends through other nodes: the account row and every device's queue
  // meta as read now (absent for a device without one).
  absl::Status ExpectQueuesAsRead(absl::string_view handle, WriteBatch& batch);
  // Adds the deletion of every row of DeleteAccount to `batch`; returns how
  // many were stored under the user's own prefix.
  absl::StatusOr<size_t> DeleteOwnRowsInto(absl::string_view handle, WriteBatch& batch);
  absl::Status DeleteLinksInto(absl::string_view handle, WriteBatch& batch);
  absl::Status DeleteNamingRowsInto(absl::string_view handle, WriteBatch& batch);
  // Adds the deletion of every message held (send later) for `handle`
  // under a care link made at or before `links_before_ms` to `batch`.
  absl::Status DeleteHeldForInto(absl::string_view handle, int64_t links_before_ms,
                                 WriteBatch& batch);

  Store* const store_;
  // The id the next device of `handle` gets: one past the highest id the
  // account ever used (kept in its record), never a removed device's id,
  // so nothing keyed by a removed device (a stream, a listener, a
  // contact's session) ever reaches its successor. Sets `account_record`
  // to the account record that claims it (to write with the device).
  // FAILED_PRECONDITION if the account is deactivated.
  absl::StatusOr<uint32_t> NextDeviceId(absl::string_view handle,
                                        const std::vector<DeviceInfo>& devices,
                                        std::string* account_record);

  ClosedListener on_closed_;
  DeviceRemovedListener on_device_removed_;
  // Serialises the exists-check and write of Register per handle.
  StripedMutex handle_locks_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_ACCOUNTS_H_
