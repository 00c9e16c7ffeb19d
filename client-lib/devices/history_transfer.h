#ifndef SOTTO_CLIENT_LIB_DEVICES_HISTORY_TRANSFER_H_
#define SOTTO_CLIENT_LIB_DEVICES_HISTORY_TRANSFER_H_

// Both ends of a history transfer (docs/PROTOCOL.md, "History transfer"):
// the existing device seals its history into an archive and uploads it in
// chunks (SendHistory); the new device fetches it, checks all of it, and
// adds the messages to its own history (ReceiveHistory).
//
// The archive is a backup stream (backup_stream.h, docs/BACKUP.md) sealed
// under a fresh random 32-byte key (KDF 3, kKdfRawKey), the key going to
// the new device only inside the provisioning message, itself sealed to
// the new device. Its records (backup_records.h): the facts "handle" (the
// account) and "history_transfer" ("1": this is not a profile backup),
// then one record of kind 7 (Space::kHistory) per message, key empty,
// value a serialized StoredMessage as the old device keeps it, then the end
// record. Only messages go: not sessions, keys, drafts, invites or
// settings (the new device makes its own keys; contacts' trusted keys came
// in the provisioning message). The rows' keys are not sent because they
// are blinded under the old store's key: the new device files each message
// anew (history::HistoryWrites), keeping its id, times, direction, content,
// delivery state and read mark.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/devices.h"

namespace sotto::client::devices {

using HistoryProgressFn = std::function<void(const HistoryProgress&)>;

// The existing device: archives `s`'s history and uploads it; returns the
// ticket for the provisioning message. The profile's lock is held only to
// take a snapshot of the store. On failure the archive is deleted from the
// server (as far as the server can still be reached).
absl::StatusOr<HistoryTicket> SendHistory(ProfileSession& s, const HistoryProgressFn& progress)
    ABSL_LOCKS_EXCLUDED(s.mu);

// The new device: fetches the archive `ticket` names into an unnamed
// temporary file, checks it whole, then adds its messages to `s`'s history
// in batches (Client::ReceiveHistory has the contract).
absl::StatusOr<uint64_t> ReceiveHistory(ProfileSession& s, const HistoryTicket& ticket,
                                        const HistoryProgressFn& progress)
    ABSL_LOCKS_EXCLUDED(s.mu);

}  // namespace sotto::client::devices

#endif  // SOTTO_CLIENT_LIB_DEVICES_HISTORY_TRANSFER_H_
