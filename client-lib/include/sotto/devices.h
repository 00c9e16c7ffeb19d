#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_DEVICES_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_DEVICES_H_

/// @file
/// The devices of one account: listing and removing them, and linking a new
/// one (Client::LinkDevice on a device that has the account,
/// Client::JoinWithLinkCode on the new one). The protocol and the
/// provisioning format are in docs/PROTOCOL.md, "Linking a device".
///
/// Linked devices share the account's identity key (as in Signal): a
/// contact's client accepts a device of a known user only if it presents a
/// key already trusted for that user, so a device the server adds on its
/// own (a "ghost") is refused by every contact. The key reaches the new
/// device only encrypted to an ephemeral key the new device made for this,
/// authenticated with a secret in the code that the server never sees.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sotto/client.h"
#include "sotto/clock.h"

namespace sotto {

/// One device of this account, as the server lists it.
struct DeviceEntry {
  /// The device's id in the account (1 for the device that registered);
  /// ids are never reused after a removal.
  uint32_t device_id = 0;
  /// Given when it was linked; empty for the device that registered.
  std::string name;
  /// When it joined the account; nullopt when the server does not know
  /// (the first device).
  std::optional<absl::Time> linked_at;
  /// The start of the hour of its last call since the server started;
  /// nullopt if none.
  std::optional<absl::Time> last_seen_hour;
  /// True for the device this Client is.
  bool this_device = false;
};

/// Where a linking stands (for a progress line).
enum class LinkStage {
  /// The code is shown; waiting for the new device to use it.
  kWaitingForNewDevice,
  /// The new device answered with a key authenticated by the code; the
  /// account's keys are being sealed to it.
  kSendingKeys,
  /// The provisioning message is on the server for the new device to fetch.
  kSent,
};

/// Where a history transfer stands (LinkDeviceOptions::on_history_progress,
/// JoinOptions::on_history_progress), for a progress line.
struct HistoryProgress {
  /// What is happening.
  enum class Stage {
    /// The existing device seals its history and uploads it.
    kUploading,
    /// The new device fetches the archive.
    kDownloading,
    /// The new device checked the whole archive and adds its messages.
    kImporting,
  };
  /// The current stage.
  Stage stage = Stage::kUploading;
  /// Messages archived (kUploading) or added (kImporting) so far; 0 while
  /// downloading.
  uint64_t messages = 0;
  /// Archive bytes uploaded or fetched so far.
  uint64_t bytes = 0;
  /// The archive's size once known (kDownloading, kImporting); 0 before.
  uint64_t total_bytes = 0;
};

/// A history archive the existing device uploaded, and the key it is
/// encrypted under (32 bytes). Carried only inside the provisioning
/// message (docs/PROTOCOL.md, "History transfer").
struct HistoryTicket {
  /// The server's id of the uploaded archive.
  std::string transfer_id;
  /// The 32-byte key the archive is encrypted under.
  std::string key;
};

/// What Client::LinkDevice needs.
struct LinkDeviceOptions {
  /// Called once with the code to show (text; render it as a QR code too)
  /// and when it expires. Required.
  std::function<void(const std::string& code, absl::Time expires_at)> on_code;
  /// Called as the linking moves on. May be empty.
  std::function<void(LinkStage stage)> on_progress;
  /// Polled between checks; returning true gives up (the slot is closed and
  /// LinkDevice returns CANCELLED). May be empty.
  std::function<bool()> cancelled;
  /// How often the server is asked whether the new device answered.
  absl::Duration poll_interval = absl::Milliseconds(500);
  /// Sends this device's message history along (docs/PROTOCOL.md, "History
  /// transfer"): once the new device has answered the code, the history is
  /// sealed under a fresh random key, uploaded to the server in chunks, and
  /// the key travels only inside the provisioning message. If the upload
  /// fails, LinkDevice fails with its error (the archive is deleted and
  /// the code no longer works); link again, or without history.
  bool include_history = false;
  /// Called as the history is uploaded (include_history). May be empty.
  std::function<void(const HistoryProgress&)> on_history_progress;
  /// Put into the provisioning message when set and include_history is
  /// false (an archive uploaded by other means).
  std::optional<HistoryTicket> history;
};

/// What Client::JoinWithLinkCode needs.
struct JoinOptions {
  /// The code shown by the existing device.
  std::string code;
  /// The name other devices of the account see (`sotto devices`): at most
  /// 64 bytes, no control characters. May be empty.
  std::string device_name;
  /// A new profile directory (created; ALREADY_EXISTS if it holds a
  /// profile), as RegisterOptions::profile_dir.
  std::string profile_dir;
  /// The new profile's passphrase (not the other device's): required.
  std::string passphrase;
  /// As RegisterOptions::key_derivation.
  KeyDerivation key_derivation = KeyDerivation::kInteractive;
  /// The account's server, HOST:PORT, as RegisterOptions::server_address.
  std::string server_address;
  /// PEM of the CA to trust for the server's TLS, as RegisterOptions.
  std::string tls_ca_pem;
  /// Trust the system's CA roots instead, as RegisterOptions.
  bool tls_system_roots = false;
  /// Locks the new profile after this long unused, as RegisterOptions.
  absl::Duration auto_lock_after = absl::Minutes(15);
  /// Time source (tests); null is the system clock.
  std::shared_ptr<const Clock> clock;
  /// How often the server is asked for the existing device's answer.
  absl::Duration poll_interval = absl::Milliseconds(500);
  /// Give up waiting for the answer after this long (the code expires in
  /// 10 minutes anyway).
  absl::Duration wait_at_most = absl::Minutes(10);
  /// Fetch and add the history the existing device sent, if it sent one.
  /// When false, JoinResult::history holds the ticket for a later
  /// Client::ReceiveHistory.
  bool receive_history = true;
  /// Called as the history is fetched and added. May be empty.
  std::function<void(const HistoryProgress&)> on_history_progress;
};

/// What Client::JoinWithLinkCode made.
struct JoinResult {
  /// The new device's Client, open and unlocked.
  std::unique_ptr<Client> client;
  /// Contacts whose trusted identity keys (and verifications) came over.
  int contacts = 0;
  /// The history-transfer ticket, if the existing device sent one.
  std::optional<HistoryTicket> history;
  /// Messages the history transfer added (0 without one).
  uint64_t history_messages = 0;
  /// OK, or why the history transfer failed: the device is joined and
  /// usable all the same, with no history from the archive (nothing of a
  /// damaged archive is added). The error names what was wrong (as
  /// Client::ReceiveHistory).
  absl::Status history_status;
};

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_DEVICES_H_
