#ifndef SOTTO_SERVER_DOMAIN_NOTIFICATION_SETTINGS_H_
#define SOTTO_SERVER_DOMAIN_NOTIFICATION_SETTINGS_H_

// Who asked to be mailed when something waits for them, and where
// (issue 20). The address is personal data the server held nothing of
// before: it is stored only sealed (AES-256-GCM under a key derived from
// the notification key file, which lives outside the data directory like
// the audit key; server/app/key_files.h), bound to its account's handle so
// a row copied to another account does not open. It is deleted on opt-out
// (Disable) and with the account (account_deletion.cc), and never written
// to a log or an error message.
//
// Row (Table::kNotifications, key = handle), version 1:
//   0x01 | mode (1 byte) | digest interval minutes (be32) | nonce (12) |
//   AES-256-GCM(address) with its 16-byte tag

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/secret_key.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

// Same numbers as sotto.v1.NotificationMode.
enum class NotificationMode : uint32_t {
  kUnspecified = 0,
  kOff = 1,
  kEachMessage = 2,
  kDigest = 3,
};

// A digest at most this often (minutes); 0 asks for the default.
inline constexpr uint32_t kMinDigestIntervalMinutes = 15;
inline constexpr uint32_t kMaxDigestIntervalMinutes = 7 * 24 * 60;
inline constexpr uint32_t kDefaultDigestIntervalMinutes = 60;

struct NotificationSetting {
  NotificationMode mode = NotificationMode::kOff;
  std::string email;                     // empty when off
  uint32_t digest_interval_minutes = 0;  // 0 unless kDigest
};

// Whom to watch: an opted-in account without its address (the notifier
// keeps these in memory; the address is read from the store only to mail).
struct NotificationTarget {
  std::string handle;
  NotificationMode mode = NotificationMode::kOff;
  uint32_t digest_interval_minutes = 0;
};

// Thread-safe (each call is one read or one write of one row). Does not own
// `store`.
class NotificationSettings {
 public:
  // `key` seals the addresses; a different key opens none of the rows
  // (Get answers DATA_LOSS for them).
  NotificationSettings(Store* store, SecretKey key);
  NotificationSettings(const NotificationSettings&) = delete;
  NotificationSettings& operator=(const NotificationSettings&) = delete;

  // Stores `setting` for the caller, replacing any earlier one, synced, and
  // returns it as stored (the default interval filled in). Errors:
  // INVALID_ARGUMENT naming the field (ValidateEmailAddress for `email`;
  // `mode` neither kEachMessage nor kDigest; `digest_interval_minutes`
  // outside kMin..kMaxDigestIntervalMinutes for a digest, or non-zero
  // without one), PERMISSION_DENIED for a digest asked by a client, and
  // storage failures.
  absl::StatusOr<NotificationSetting> Set(const AuthenticatedDevice& caller,
                                          NotificationSetting setting);
  // Deletes the caller's row (synced), if any.
  absl::Status Disable(const AuthenticatedDevice& caller);
  // `handle`'s setting; mode kOff and no address without a row. Errors:
  // DATA_LOSS for a row that does not open under this key or does not
  // parse; storage failures.
  absl::StatusOr<NotificationSetting> Get(absl::string_view handle);
  // Every opted-in account, without addresses (read at start).
  absl::StatusOr<std::vector<NotificationTarget>> ListTargets();

 private:
  absl::StatusOr<std::string> Encode(absl::string_view handle, const NotificationSetting& s) const;

  Store* const store_;
  // AES-256 key derived from the key file's secret (never the secret
  // itself, which also MACs nothing else here).
  const std::string seal_key_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_NOTIFICATION_SETTINGS_H_
