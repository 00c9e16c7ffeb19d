#include "server/domain/accounts.h"

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/conditional_write.h"
#include "server/domain/key_validation.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/domain/sha256.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

// CheckActive's answer from the account record as read (nullopt: none).
absl::Status ActiveFrom(absl::string_view handle, const std::optional<std::string>& value) {
  if (!value) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(*value));
  if (account.deactivated) {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", handle, " is deactivated and cannot receive messages"));
  }
  return absl::OkStatus();
}

constexpr size_t kSaltBytes = 16;
constexpr char kBadCredentials[] =
    "authorization credentials rejected: unknown device or wrong secret";

// SHA-256(salt || secret); empty on failure, which never matches a stored
// hash. The secret is not copied.
std::string HashSecret(absl::string_view salt, absl::string_view secret) {
  return Sha256({salt, secret});
}

}  // namespace

Accounts::Accounts(Store* store) : store_(store) {}

absl::Status Accounts::ValidateHandle(absl::string_view handle) {
  if (handle.size() < kMinHandleLength || handle.size() > kMaxHandleLength) {
    return absl::InvalidArgumentError(absl::StrCat("handle must be ", kMinHandleLength, "..",
                                                   kMaxHandleLength, " characters, got ",
                                                   handle.size()));
  }
  if (handle[0] < 'a' || handle[0] > 'z') {
    return absl::InvalidArgumentError("handle must start with a letter a-z");
  }
  for (char c : handle) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError("handle may contain only a-z, 0-9, '_' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Accounts::Register(const Registration& reg, const CallContext& call) {
  return Register(
      reg, [](WriteBatch&) { return absl::OkStatus(); }, call);
}

absl::StatusOr<std::optional<Role>> Accounts::RoleOf(absl::string_view handle) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kAccounts, keys::Account(handle)));
  if (!value) return std::optional<Role>();
  SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(*value));
  return std::optional<Role>(account.role);
}

absl::StatusOr<uint32_t> Accounts::Register(const Registration& reg, const RegisterHook& hook,
                                            const CallContext& call) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(reg.handle));
  if (reg.role != Role::kClient && reg.role != Role::kTherapist) {
    return absl::InvalidArgumentError(
        absl::StrCat("role must be client (", static_cast<int>(Role::kClient), ") or therapist (",
                     static_cast<int>(Role::kTherapist), "), got ", static_cast<int>(reg.role)));
  }
  constexpr uint32_t kFirstDevice = 1;
  SOTTO_ASSIGN_OR_RETURN(
      WriteBatch batch,
      NewDeviceBatch(reg.handle, kFirstDevice, reg.device_secret, reg.registration_id, reg.keys));
  batch.Put(Table::kAccounts, keys::Account(reg.handle),
            records::Encode(records::Account{reg.role, false, kFirstDevice}));
  AddAudit(batch,
           {audit::kRegistered, absl::StrCat(reg.handle, ".", kFirstDevice), reg.handle,
            absl::StrCat("role=", reg.role == Role::kTherapist ? "therapist" : "client",
                         " one_time_prekeys=", reg.keys.one_time_prekeys.size())},
           call);

  // The handle must still be free when the write lands: the same handle
  // registered through another node meanwhile makes it ABORTED, and the
  // next attempt answers ALREADY_EXISTS.
  batch.Expect(Table::kAccounts, keys::Account(reg.handle), std::nullopt);

  StripedLock lock(handle_locks_, {reg.handle});
  SOTTO_RETURN_IF_ERROR(RetryAborted("the registration", [&]() -> absl::Status {
    // The hook adds to a fresh copy on each attempt.
    WriteBatch attempt = batch;
    // The code first: who has no valid code gets its one answer whether the
    // handle is taken or free (issue 19).
    SOTTO_RETURN_IF_ERROR(hook(attempt));
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                           store_->Get(Table::kAccounts, keys::Account(reg.handle)));
    if (existing) {
      return absl::AlreadyExistsError(absl::StrCat("handle ", reg.handle, " is already taken"));
    }
    return store_->Write(attempt, Durability::kSynced);
  }));
  return kFirstDevice;
}

absl::StatusOr<WriteBatch> Accounts::NewDeviceBatch(absl::string_view handle, uint32_t device_id,
                                                    absl::string_view secret,
                                                    uint32_t registration_id,
                                                    const DeviceKeys& device_keys,
                                                    absl::string_view name,
                                                    int64_t linked_at_ms) {
  if (secret.size() != kDeviceSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("device_secret must be ", kDeviceSecretBytes, " bytes, got ", secret.size()));
  }
  if (registration_id < kMinRegistrationId || registration_id > kMaxRegistrationId) {
    return absl::InvalidArgumentError(absl::StrCat("registration_id ", registration_id,
                                                   " is outside ", kMinRegistrationId, "..",
                                                   kMaxRegistrationId));
  }
  SOTTO_RETURN_IF_ERROR(ValidatePublicKey(device_keys.identity_key, "keys.identity_key"));
  if (!device_keys.signed_prekey) {
    return absl::InvalidArgumentError("keys.signed_prekey is required");
  }
  SOTTO_RETURN_IF_ERROR(ValidateSignedPreKey(device_keys.identity_key, *device_keys.signed_prekey));
  SOTTO_RETURN_IF_ERROR(ValidateOneTimePreKeys(device_keys.one_time_prekeys));

  records::Device device;
  device.registration_id = registration_id;
  device.salt.resize(kSaltBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(device.salt.data()),
                 static_cast<int>(kSaltBytes)) != 1) {
    return absl::UnavailableError("random number generator failed");
  }
  device.secret_hash = HashSecret(device.salt, secret);
  device.name = std::string(name);
  device.linked_at_ms = linked_at_ms;

  WriteBatch batch;
  batch.Put(Table::kDevices, keys::Device(handle, device_id), records::Encode(device));
  batch.Put(Table::kPreKeys, keys::IdentityKey(handle, device_id), device_keys.identity_key);
  batch.Put(Table::kPreKeys, keys::SignedPreKey(handle, device_id),
            records::Encode(*device_keys.signed_prekey));
  for (const OneTimePreKey& k : device_keys.one_time_prekeys) {
    batch.Put(Table::kPreKeys, keys::OneTimePreKey(handle, device_id, k.id), k.public_key);
  }
  return batch;
}

absl::StatusOr<uint32_t> Accounts::AddDevice(const AuthenticatedDevice& caller,
                                             absl::string_view secret, uint32_t registration_id,
                                             const DeviceKeys& device_keys,
                                             const CallContext& call) {
  StripedLock lock(handle_locks_, {caller.handle});
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(caller.handle));
  if (devices.size() >= kMaxDevicesPerUser) {
    return absl::ResourceExhaustedError(absl::StrCat("user ", caller.handle, " already has ",
                                                     devices.size(), " devices (at most ",
                                                     kMaxDevicesPerUser, ")"));
  }
  std::string account_record;
  SOTTO_ASSIGN_OR_RETURN(const uint32_t device_id,
                         NextDeviceId(caller.handle, devices, &account_record));
  SOTTO_ASSIGN_OR_RETURN(WriteBatch batch, NewDeviceBatch(caller.handle, device_id, secret,
                                                          registration_id, device_keys));
  batch.Put(Table::kAccounts, keys::Account(caller.handle), std::move(account_record));
  AddAudit(
      batch,
      {audit::kDeviceAdded, AuditActor(caller), caller.handle, absl::StrCat("device=", device_id)},
      call);
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return device_id;
}

absl::StatusOr<AuthenticatedDevice> Accounts::Authenticate(absl::string_view handle,
                                                           uint32_t device_id,
                                                           absl::string_view secret) {
  std::optional<std::string> account_value;
  std::optional<std::string> device_value;
  if (ValidateHandle(handle).ok()) {
    // One round trip on PostgreSQL, where every call authenticates.
    ReadBatch batch;
    batch.Get(Table::kAccounts, keys::Account(handle));
    batch.Get(Table::kDevices, keys::Device(handle, device_id));
    SOTTO_ASSIGN_OR_RETURN(ReadResult read, store_->Read(batch));
    account_value = std::move(read.values.at(0));
    device_value = std::move(read.values.at(1));
  }
  records::Device device;
  if (account_value && device_value) {
    SOTTO_ASSIGN_OR_RETURN(device, records::DecodeDevice(*device_value));
  }
  // Hash even for an unknown device so that timing does not tell whether
  // the handle exists.
  std::string salt = device.salt.empty() ? std::string(kSaltBytes, '\0') : device.salt;
  std::string presented = HashSecret(salt, secret);
  bool match = account_value && device_value && presented.size() == device.secret_hash.size() &&
               CRYPTO_memcmp(presented.data(), device.secret_hash.data(), presented.size()) == 0;
  if (!match) return absl::UnauthenticatedError(kBadCredentials);
  SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(*account_value));
  // Said only to a caller who proved the device secret.
  if (account.deactivated) {
    return absl::UnauthenticatedError(
        absl::StrCat("account ", handle, " is deactivated by the operator; contact your provider"));
  }
  return AuthenticatedDevice{std::string(handle), device_id, account.role};
}

absl::Status Accounts::SetDeactivated(absl::string_view handle, bool deactivated) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(handle));
  StripedLock lock(handle_locks_, {std::string(handle)});
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kAccounts, keys::Account(handle)));
  if (!value) return absl::NotFoundError(absl::StrCat("no user ", handle));
  SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(*value));
  if (account.deactivated == deactivated) {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", handle, " is already ", deactivated ? "deactivated" : "active"));
  }
  account.deactivated = deactivated;
  WriteBatch batch;
  batch.Put(Table::kAccounts, keys::Account(handle), records::Encode(account));
  AddAudit(batch,
           {deactivated ? audit::kAccountDeactivated : audit::kAccountReactivated, audit::kOperator,
            std::string(handle), ""},
           CallContext{});
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  if (deactivated && on_closed_) on_closed_(handle, Closed::kDeactivated);
  return absl::OkStatus();
}

absl::Status Accounts::CheckActive(absl::string_view handle) {
  return ReadActive(handle).status();
}

absl::StatusOr<std::optional<std::string>> Accounts::ReadActive(absl::string_view handle) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kAccounts, keys::Account(handle)));
  SOTTO_RETURN_IF_ERROR(ActiveFrom(handle, value));
  return value;
}

absl::StatusOr<AccountInfo> Accounts::WhoAmI(const AuthenticatedDevice& caller) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, Devices(caller.handle));
  AccountInfo info{caller.handle, caller.role, {}};
  for (const DeviceInfo& d : devices) info.device_ids.push_back(d.device_id);
  return info;
}

absl::StatusOr<std::vector<DeviceInfo>> Accounts::Devices(absl::string_view handle) {
  ReadBatch batch;
  SOTTO_ASSIGN_OR_RETURN(const DeviceReads reads, AddDeviceReads(handle, batch));
  SOTTO_ASSIGN_OR_RETURN(const ReadResult read, store_->Read(batch));
  return DevicesFrom(handle, reads, read, /*check_active=*/false);
}

absl::StatusOr<Accounts::DeviceReads> Accounts::AddDeviceReads(absl::string_view handle,
                                                               ReadBatch& batch) {
  absl::Status valid = ValidateHandle(handle);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid handle \"", handle, "\": ", valid.message()));
  }
  DeviceReads reads;
  reads.account = batch.Get(Table::kAccounts, keys::Account(handle));
  reads.devices = batch.Scan(Table::kDevices, keys::UserPrefix(handle), kMaxDevicesPerUser + 1);
  return reads;
}

absl::StatusOr<std::vector<DeviceInfo>> Accounts::DevicesFrom(absl::string_view handle,
                                                              const DeviceReads& reads,
                                                              const ReadResult& read,
                                                              bool check_active) {
  const std::optional<std::string>& account = read.values.at(reads.account);
  if (!account) return absl::NotFoundError(absl::StrCat("no user ", handle));
  std::vector<DeviceInfo> devices;
  for (const KeyValue& row : read.scans.at(reads.devices)) {
    std::optional<uint32_t> id = keys::DeviceIdOf(row.key);
    if (!id) return records::Corrupt("device key");
    SOTTO_ASSIGN_OR_RETURN(records::Device d, records::DecodeDevice(row.value));
    devices.push_back(DeviceInfo{*id, d.registration_id, d.name, d.linked_at_ms});
  }
  if (check_active) SOTTO_RETURN_IF_ERROR(ActiveFrom(handle, account));
  return devices;
}

}  // namespace sotto::server
