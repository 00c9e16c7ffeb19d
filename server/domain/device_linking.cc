// Accounts::LinkDevice and RemoveDevice: a device joins an existing account
// (after its link token was redeemed, link_slots.h) or leaves it. The
// account keeps one identity key across its devices (accounts.h says why).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/conditional_write.h"
#include "server/domain/key_validation.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr size_t kScanBatch = 1000;

// Adds the deletion of every row of `table` under `prefix` to `batch`.
absl::Status DeleteUnder(Store* store, Table table, absl::string_view prefix, WriteBatch& batch) {
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(table, prefix, after, kScanBatch));
    for (const KeyValue& kv : rows) batch.Delete(table, kv.key);
    if (rows.size() < kScanBatch) return absl::OkStatus();
    after = rows.back().key;
  }
}

}  // namespace

absl::Status Accounts::ValidateDeviceName(absl::string_view name) {
  if (name.size() > kMaxDeviceNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("name must be at most ", kMaxDeviceNameBytes, " bytes, got ", name.size()));
  }
  for (unsigned char c : name) {
    // Control characters would let a name rewrite the terminal that lists it.
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("name must not contain control characters");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Accounts::NextDeviceId(absl::string_view handle,
                                                const std::vector<DeviceInfo>& devices,
                                                std::string* account_record) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kAccounts, keys::Account(handle)));
  if (!value) return absl::NotFoundError(absl::StrCat("no user ", handle));
  SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(*value));
  if (account.deactivated) {
    return absl::FailedPreconditionError(
        absl::StrCat("account ", handle, " is deactivated by the operator; no device can join it"));
  }
  uint32_t highest = account.highest_device_id;
  for (const DeviceInfo& d : devices) highest = std::max(highest, d.device_id);
  if (highest == UINT32_MAX) return absl::ResourceExhaustedError("device ids used up");
  account.highest_device_id = highest + 1;
  *account_record = records::Encode(account);
  return account.highest_device_id;
}

absl::Status Accounts::CheckLinkable(absl::string_view handle, uint32_t linked_by,
                                     const NewDevice& device) {
  SOTTO_RETURN_IF_ERROR(ValidateDeviceName(device.name));
  if (device.device_secret.size() != kDeviceSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("device_secret must be ", kDeviceSecretBytes,
                                                   " bytes, got ", device.device_secret.size()));
  }
  if (device.registration_id < kMinRegistrationId || device.registration_id > kMaxRegistrationId) {
    return absl::InvalidArgumentError(absl::StrCat("registration_id ", device.registration_id,
                                                   " is outside ", kMinRegistrationId, "..",
                                                   kMaxRegistrationId));
  }
  SOTTO_RETURN_IF_ERROR(ValidatePublicKey(device.keys.identity_key, "keys.identity_key"));
  if (!device.keys.signed_prekey) {
    return absl::InvalidArgumentError("keys.signed_prekey is required");
  }

  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(handle));
  if (devices.empty()) return absl::NotFoundError(absl::StrCat("user ", handle, " has no device"));
  SOTTO_RETURN_IF_ERROR(CheckActive(handle));
  bool linker_present = false;
  for (const DeviceInfo& d : devices) linker_present = linker_present || d.device_id == linked_by;
  if (!linker_present) {
    // The device that showed the code was removed: whoever holds its code
    // (a stolen laptop, say) must not add a device.
    return absl::PermissionDeniedError(
        "the device that showed this code was removed: start linking again");
  }
  SOTTO_ASSIGN_OR_RETURN(
      std::optional<std::string> account_key,
      store_->Get(Table::kPreKeys, keys::IdentityKey(handle, devices.front().device_id)));
  if (!account_key || *account_key != device.keys.identity_key) {
    return absl::InvalidArgumentError(
        "keys.identity_key is not the account's identity key: a linked device shares it");
  }
  SOTTO_RETURN_IF_ERROR(ValidateSignedPreKey(device.keys.identity_key, *device.keys.signed_prekey));
  return ValidateOneTimePreKeys(device.keys.one_time_prekeys);
}

absl::StatusOr<uint32_t> Accounts::LinkDevice(absl::string_view handle, uint32_t linked_by,
                                              const NewDevice& device, const CallContext& call) {
  SOTTO_RETURN_IF_ERROR(ValidateDeviceName(device.name));
  StripedLock lock(handle_locks_, {std::string(handle)});
  SOTTO_RETURN_IF_ERROR(CheckLinkable(handle, linked_by, device));
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(handle));
  if (devices.size() >= kMaxDevicesPerUser) {
    return absl::ResourceExhaustedError(absl::StrCat("user ", handle, " already has ",
                                                     devices.size(), " devices (at most ",
                                                     kMaxDevicesPerUser, ")"));
  }
  std::string account_record;
  SOTTO_ASSIGN_OR_RETURN(const uint32_t device_id, NextDeviceId(handle, devices, &account_record));
  SOTTO_ASSIGN_OR_RETURN(WriteBatch batch, NewDeviceBatch(handle, device_id, device.device_secret,
                                                          device.registration_id, device.keys,
                                                          device.name, device.linked_at_ms));
  batch.Put(Table::kAccounts, keys::Account(handle), std::move(account_record));
  AddAudit(batch,
           {audit::kDeviceLinked, absl::StrCat(handle, ".", linked_by), std::string(handle),
            absl::StrCat("device=", device_id)},
           call);
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return device_id;
}

absl::StatusOr<bool> Accounts::HasDevice(absl::string_view handle, uint32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kDevices, keys::Device(handle, device_id)));
  return value.has_value();
}

absl::Status Accounts::RemoveDevice(const AuthenticatedDevice& caller, uint32_t device_id,
                                    const CallContext& call) {
  if (device_id == 0) return absl::InvalidArgumentError("device_id must be set");
  const std::string& h = caller.handle;
  {
    StripedLock lock(handle_locks_, {h});
    SOTTO_RETURN_IF_ERROR(RetryAborted("removing the device", [&]() -> absl::Status {
      return RemoveDeviceLocked(caller, device_id, call);
    }));
  }
  if (on_device_removed_) on_device_removed_(h, device_id);
  return absl::OkStatus();
}

absl::Status Accounts::RemoveDeviceLocked(const AuthenticatedDevice& caller, uint32_t device_id,
                                          const CallContext& call) {
  const std::string& h = caller.handle;
  {
    SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(h));
    bool found = false;
    for (const DeviceInfo& d : devices) found = found || d.device_id == device_id;
    if (!found) {
      return absl::NotFoundError(absl::StrCat("account ", h, " has no device ", device_id));
    }
    if (devices.size() == 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device ", device_id, " is the only device of ", h, "; delete the account instead"));
    }
    // The queue meta becomes a tombstone, written expecting the meta as
    // read, and read BEFORE the queue is scanned: every Send queues and
    // moves the meta in one write, so one through another node that queued
    // after this read (before the scan below or after it) makes this write
    // ABORTED and the retry deletes what it queued. Read after the scan, a
    // Send landing in between would leave its envelope behind under a
    // tombstone that expected its meta. A Send that read the device list
    // before this write finds the tombstone instead of an absent row, so it
    // cannot queue for a removed device.
    const std::string meta_key = keys::QueueMeta(h, device_id);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> meta_value,
                           store_->Get(Table::kQueueMeta, meta_key));
    WriteBatch batch;
    batch.Delete(Table::kDevices, keys::Device(h, device_id));
    // Keys, queue and idempotency records all start with the device's own
    // prefix.
    const std::string prefix = keys::Device(h, device_id);
    for (Table t : {Table::kPreKeys, Table::kQueues, Table::kIdempotency}) {
      SOTTO_RETURN_IF_ERROR(DeleteUnder(store_, t, prefix, batch));
    }
    records::QueueMeta tombstone;
    if (meta_value) {
      SOTTO_ASSIGN_OR_RETURN(tombstone, records::DecodeQueueMeta(*meta_value));
    }
    tombstone.depth = 0;
    tombstone.bytes = 0;
    // Wall time: Accounts has no clock, and the tombstone's age only needs
    // to be coarse (Mailbox::SweepRemovedQueues keeps it for a day).
    tombstone.removed_at_ms = std::max<int64_t>(1, absl::ToUnixMillis(absl::Now()));
    batch.Expect(Table::kQueueMeta, meta_key, std::move(meta_value));
    batch.Put(Table::kQueueMeta, meta_key, records::Encode(tombstone));
    // Its send-later messages: released later, they would go out in the
    // name of a device the user removed (a stolen laptop's, say). Each
    // index row names its kScheduled row.
    std::string after;
    while (true) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                             store_->Scan(Table::kScheduledIndex, prefix, after, kScanBatch));
      for (const KeyValue& kv : rows) {
        batch.Delete(Table::kScheduledIndex, kv.key);
        batch.Delete(Table::kScheduled, kv.value);
      }
      if (rows.size() < kScanBatch) break;
      after = rows.back().key;
    }
    AddAudit(batch,
             {audit::kDeviceRemoved, AuditActor(caller), h, absl::StrCat("device=", device_id)},
             call);
    return store_->Write(batch, Durability::kSynced);
  }
}

}  // namespace sotto::server
