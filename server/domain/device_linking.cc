// Accounts::LinkDevice and RemoveDevice: a device joins an existing account
// (after its link token was redeemed, link_slots.h) or leaves it. The
// account keeps one identity key across its devices (accounts.h says why).

#include "absl/strings/str_cat.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
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

absl::StatusOr<uint32_t> Accounts::LinkDevice(absl::string_view handle, uint32_t linked_by,
                                              const NewDevice& device, const CallContext& call) {
  SOTTO_RETURN_IF_ERROR(ValidateDeviceName(device.name));
  StripedLock lock(handle_locks_, {std::string(handle)});
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(handle));
  if (devices.size() >= kMaxDevicesPerUser) {
    return absl::ResourceExhaustedError(absl::StrCat("user ", handle, " already has ",
                                                     devices.size(), " devices (at most ",
                                                     kMaxDevicesPerUser, ")"));
  }
  if (devices.empty()) return absl::NotFoundError(absl::StrCat("user ", handle, " has no device"));
  SOTTO_ASSIGN_OR_RETURN(
      std::optional<std::string> account_key,
      store_->Get(Table::kPreKeys, keys::IdentityKey(handle, devices.front().device_id)));
  if (!account_key || *account_key != device.keys.identity_key) {
    return absl::InvalidArgumentError(
        "keys.identity_key is not the account's identity key: a linked device shares it");
  }
  const uint32_t device_id = devices.back().device_id + 1;
  SOTTO_ASSIGN_OR_RETURN(WriteBatch batch, NewDeviceBatch(handle, device_id, device.device_secret,
                                                          device.registration_id, device.keys,
                                                          device.name, device.linked_at_ms));
  AddAudit(batch,
           {audit::kDeviceLinked, absl::StrCat(handle, ".", linked_by), std::string(handle),
            absl::StrCat("device=", device_id)},
           call);
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return device_id;
}

absl::Status Accounts::RemoveDevice(const AuthenticatedDevice& caller, uint32_t device_id,
                                    const CallContext& call) {
  if (device_id == 0) return absl::InvalidArgumentError("device_id must be set");
  const std::string& h = caller.handle;
  StripedLock lock(handle_locks_, {h});
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
  WriteBatch batch;
  batch.Delete(Table::kDevices, keys::Device(h, device_id));
  // Keys, queue and queue meta all start with the device's own prefix.
  for (Table t : {Table::kPreKeys, Table::kQueues, Table::kQueueMeta}) {
    SOTTO_RETURN_IF_ERROR(DeleteUnder(store_, t, keys::Device(h, device_id), batch));
  }
  AddAudit(batch,
           {audit::kDeviceRemoved, AuditActor(caller), h, absl::StrCat("device=", device_id)},
           call);
  return store_->Write(batch, Durability::kSynced);
}

}  // namespace sotto::server
