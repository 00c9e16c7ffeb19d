#include "server/domain/key_directory.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/conditional_write.h"
#include "server/domain/key_validation.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {

KeyDirectory::KeyDirectory(Store* store, Accounts* accounts) : store_(store), accounts_(accounts) {}

absl::StatusOr<size_t> KeyDirectory::CountOneTimePreKeys(absl::string_view handle,
                                                         uint32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         store_->Scan(Table::kPreKeys, keys::OneTimePreKeyPrefix(handle, device_id),
                                      "", kMaxStoredPreKeys + kMaxPreKeysPerUpload + 1));
  return rows.size();
}

absl::StatusOr<uint32_t> KeyDirectory::Upload(const AuthenticatedDevice& caller,
                                              const DeviceKeys& upload, const CallContext& call,
                                              OneTimePreKeys mode) {
  const std::string& handle = caller.handle;
  const uint32_t device = caller.device_id;
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> identity,
                         store_->Get(Table::kPreKeys, keys::IdentityKey(handle, device)));
  if (!identity) return records::Corrupt("identity key");
  if (!upload.identity_key.empty() && upload.identity_key != *identity) {
    return absl::InvalidArgumentError(
        "keys.identity_key differs from the device's registered identity key");
  }
  if (upload.signed_prekey) {
    SOTTO_RETURN_IF_ERROR(ValidateSignedPreKey(*identity, *upload.signed_prekey));
  }
  SOTTO_RETURN_IF_ERROR(ValidateOneTimePreKeys(upload.one_time_prekeys));

  std::string prefix = keys::OneTimePreKeyPrefix(handle, device);
  StripedLock lock(device_locks_, {prefix});
  return RetryAborted("the key upload", [&]() -> absl::StatusOr<uint32_t> {
    return UploadLocked(caller, upload, call, mode);
  });
}

absl::StatusOr<uint32_t> KeyDirectory::UploadLocked(const AuthenticatedDevice& caller,
                                                    const DeviceKeys& upload,
                                                    const CallContext& call, OneTimePreKeys mode) {
  const std::string& handle = caller.handle;
  const uint32_t device = caller.device_id;
  const std::string prefix = keys::OneTimePreKeyPrefix(handle, device);
  // The stamp is read before the count: an upload through another node
  // after this read moves it, so this write is ABORTED and the retry counts
  // that node's keys too. Without it, two uploads at one instant would each
  // count the old set and pass the cap together.
  const std::string stamp_key = keys::Device(handle, device) + std::string(1, kUploadStamp);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> stamp, store_->Get(Table::kPreKeys, stamp_key));
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         store_->Scan(Table::kPreKeys, prefix, "", kMaxStoredPreKeys + 1));
  absl::flat_hash_set<std::string> stored;
  WriteBatch batch;
  size_t replaced = 0;
  for (KeyValue& row : rows) {
    if (mode == OneTimePreKeys::kReplace) {
      batch.Delete(Table::kPreKeys, std::move(row.key));  // a Put below overrides it
      ++replaced;
    } else {
      stored.insert(std::move(row.key));
    }
  }
  size_t added = 0;
  for (const OneTimePreKey& k : upload.one_time_prekeys) {
    std::string key = keys::OneTimePreKey(handle, device, k.id);
    if (!stored.contains(key)) ++added;
    batch.Put(Table::kPreKeys, std::move(key), k.public_key);
  }
  if (stored.size() + added > kMaxStoredPreKeys) {
    return absl::ResourceExhaustedError(
        absl::StrCat("device ", handle, ".", device, " would hold ", stored.size() + added,
                     " one-time prekeys; at most ", kMaxStoredPreKeys, " may be stored"));
  }
  if (upload.signed_prekey) {
    batch.Put(Table::kPreKeys, keys::SignedPreKey(handle, device),
              records::Encode(*upload.signed_prekey));
  }
  if (!batch.empty()) {
    std::string next;
    keys::AppendBigEndian64(next, (stamp ? keys::ReadBigEndian64(*stamp).value_or(0) : 0) + 1);
    batch.Expect(Table::kPreKeys, stamp_key, std::move(stamp));
    batch.Put(Table::kPreKeys, stamp_key, std::move(next));
    // Counts and ids only: the keys themselves are public but add nothing.
    AddAudit(batch,
             {audit::kKeysUploaded, AuditActor(caller), std::string(handle),
              absl::StrCat("signed_prekey=",
                           upload.signed_prekey ? absl::StrCat(upload.signed_prekey->id)
                                                : std::string("unchanged"),
                           " one_time_prekeys_added=", added,
                           mode == OneTimePreKeys::kReplace
                               ? absl::StrCat(" one_time_prekeys_replaced=", replaced)
                               : std::string())},
             call);
    SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  }
  // Pops may have run concurrently; count again for an exact answer.
  SOTTO_ASSIGN_OR_RETURN(size_t count, CountOneTimePreKeys(handle, device));
  return static_cast<uint32_t>(count);
}

absl::StatusOr<std::vector<PreKeyBundle>> KeyDirectory::GetBundle(absl::string_view handle,
                                                                  bool take_one_time_prekeys,
                                                                  uint32_t skip_device) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, accounts_->Devices(handle));
  std::vector<PreKeyBundle> bundles;
  for (const DeviceInfo& d : devices) {
    if (skip_device != 0 && d.device_id == skip_device) continue;
    PreKeyBundle bundle;
    bundle.device_id = d.device_id;
    bundle.registration_id = d.registration_id;
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> identity,
                           store_->Get(Table::kPreKeys, keys::IdentityKey(handle, d.device_id)));
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> spk,
                           store_->Get(Table::kPreKeys, keys::SignedPreKey(handle, d.device_id)));
    if (!identity || !spk) return records::Corrupt("device keys");
    bundle.identity_key = std::move(*identity);
    SOTTO_ASSIGN_OR_RETURN(bundle.signed_prekey, records::DecodeSignedPreKey(*spk));
    // Synced before the reply: a pop lost in a machine crash would hand the
    // same one-time prekey to a second sender, and the recipient, who deletes
    // a one-time prekey when its first PreKey message arrives, could not
    // decrypt the second sender's PreKey messages.
    std::optional<KeyValue> popped;
    if (take_one_time_prekeys) {
      SOTTO_ASSIGN_OR_RETURN(
          popped, store_->PopFirst(Table::kPreKeys, keys::OneTimePreKeyPrefix(handle, d.device_id),
                                   Durability::kSynced));
    }
    if (popped) {
      std::optional<uint32_t> id = keys::OneTimePreKeyIdOf(popped->key);
      if (!id) return records::Corrupt("one-time prekey key");
      bundle.one_time_prekey = OneTimePreKey{*id, std::move(popped->value)};
    }
    bundles.push_back(std::move(bundle));
  }
  return bundles;
}

absl::StatusOr<PreKeyCount> KeyDirectory::CountPreKeys(const AuthenticatedDevice& caller) {
  SOTTO_ASSIGN_OR_RETURN(size_t count, CountOneTimePreKeys(caller.handle, caller.device_id));
  SOTTO_ASSIGN_OR_RETURN(
      std::optional<std::string> spk,
      store_->Get(Table::kPreKeys, keys::SignedPreKey(caller.handle, caller.device_id)));
  if (!spk) return records::Corrupt("signed prekey");
  SOTTO_ASSIGN_OR_RETURN(SignedPreKey decoded, records::DecodeSignedPreKey(*spk));
  return PreKeyCount{static_cast<uint32_t>(count), decoded.id};
}

}  // namespace sotto::server
