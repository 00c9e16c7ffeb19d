// sotto::Client: the account's devices — list, remove, link a new one
// (sotto/devices.h). The protocol is in client-lib/devices/.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client-lib/devices/history_transfer.h"
#include "client-lib/devices/join.h"
#include "client-lib/outgoing/own_devices.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/profile/registration.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/client.h"
#include "sotto/devices.h"
#include "sotto/status_macros.h"

namespace sotto {

absl::StatusOr<std::vector<DeviceEntry>> Client::ListDevices() {
  client::ProfileSession& s = session();
  SOTTO_RETURN_IF_ERROR(s.Check());
  SOTTO_ASSIGN_OR_RETURN(v1::ListDevicesResponse listed, s.connection().ListDevices());
  std::vector<DeviceEntry> out;
  for (const v1::DeviceInfo& d : listed.devices()) {
    DeviceEntry e;
    e.device_id = d.device_id();
    e.name = d.name();
    if (d.linked_at_ms() > 0) e.linked_at = absl::FromUnixMillis(d.linked_at_ms());
    if (d.last_seen_hour_ms() > 0) e.last_seen_hour = absl::FromUnixMillis(d.last_seen_hour_ms());
    e.this_device = d.device_id() == device_id();
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status Client::RemoveDevice(uint32_t id) {
  if (id == 0) return absl::InvalidArgumentError("device id 0 names no device");
  client::ProfileSession& s = session();
  SOTTO_RETURN_IF_ERROR(s.Check());
  return s.connection().RemoveDevice(id);
}

absl::Status Client::LinkDevice(const LinkDeviceOptions& options) {
  client::ProfileSession& s = session();
  SOTTO_RETURN_IF_ERROR(s.Check());
  // Whom the new device should keep pinned: everyone we converse with or
  // are linked to (the server's list only adds names; keys come from here).
  std::vector<std::string> contacts;
  SOTTO_ASSIGN_OR_RETURN(std::vector<Conversation> conversations, ListConversations());
  for (const Conversation& c : conversations) contacts.push_back(c.peer);
  absl::StatusOr<std::vector<CareLink>> links = ListLinks();
  if (links.ok()) {
    for (const CareLink& l : *links) contacts.push_back(l.peer);
  }
  std::sort(contacts.begin(), contacts.end());
  contacts.erase(std::unique(contacts.begin(), contacts.end()), contacts.end());
  SOTTO_RETURN_IF_ERROR(client::devices::SendProvisioning(s, contacts, options));
  // The account has another device now: sent transcripts go to it.
  absl::MutexLock lock(&s.mu);
  client::OwnDevices::Forget(s);
  return absl::OkStatus();
}

absl::StatusOr<JoinResult> Client::JoinWithLinkCode(const JoinOptions& options) {
  if (options.profile_dir.empty()) {
    return absl::InvalidArgumentError("a profile directory is required");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<client::storage::LocalStore> store,
                         client::NewProfileStore(options.profile_dir, options.passphrase,
                                                 options.key_derivation));
  absl::StatusOr<client::devices::Joined> joined =
      client::devices::JoinProfile(options, std::move(store));
  if (!joined.ok()) {
    // Nothing of the account is on the server for this store's keys unless
    // Link succeeded, and then only a failed save comes here (it says so).
    client::storage::DestroyEncryptedStore(options.profile_dir).IgnoreError();
    return joined.status();
  }
  joined->session->EnableLocking(options.profile_dir, options.auto_lock_after);
  JoinResult result;
  result.client = FromSession(std::move(joined->session));
  result.contacts = joined->contacts;
  result.history = std::move(joined->history);
  // The account is joined whatever happens to the history: its failure is
  // reported beside the new Client, not instead of it.
  if (result.history && options.receive_history) {
    absl::StatusOr<uint64_t> added =
        result.client->ReceiveHistory(*result.history, options.on_history_progress);
    if (added.ok()) {
      result.history_messages = *added;
    } else {
      result.history_status = added.status();
    }
  }
  return result;
}

absl::StatusOr<uint64_t> Client::ReceiveHistory(
    const HistoryTicket& ticket, const std::function<void(const HistoryProgress&)>& on_progress) {
  return client::devices::ReceiveHistory(session(), ticket, on_progress);
}

}  // namespace sotto
