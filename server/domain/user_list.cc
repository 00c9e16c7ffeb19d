#include "server/domain/user_list.h"

#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {

absl::StatusOr<std::vector<UserSummary>> ListUsers(Store* store, absl::string_view after_handle,
                                                   size_t limit) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> accounts,
                         store->Scan(Table::kAccounts, "", after_handle, limit));
  std::vector<UserSummary> users;
  for (const KeyValue& row : accounts) {
    SOTTO_ASSIGN_OR_RETURN(records::Account account, records::DecodeAccount(row.value));
    UserSummary user{row.key, account.role, account.deactivated, {}};
    SOTTO_ASSIGN_OR_RETURN(
        std::vector<KeyValue> devices,
        store->Scan(Table::kDevices, keys::UserPrefix(row.key), "", kMaxDevicesPerUser + 1));
    for (const KeyValue& d : devices) {
      std::optional<uint32_t> id = keys::DeviceIdOf(d.key);
      if (!id) return records::Corrupt("device key");
      user.device_ids.push_back(*id);
    }
    users.push_back(std::move(user));
  }
  return users;
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kTherapist:
      return "therapist";
    case Role::kClient:
      return "client";
    case Role::kUnspecified:
      break;
  }
  return "unspecified";
}

}  // namespace sotto::server
