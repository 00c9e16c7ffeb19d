#ifndef SOTTO_CLIENT_LIB_BACKUP_BACKUP_RECORDS_H_
#define SOTTO_CLIENT_LIB_BACKUP_BACKUP_RECORDS_H_

// What a backup's decrypted stream holds (docs/BACKUP.md, "Records"): a
// sequence of records `u8 kind | u32 BE key length | key | u32 BE value
// length | value`. Kind 0 is a profile fact (key "store_key": the local
// store's 32-byte data key, so that blinded keys stay valid; "handle");
// kinds 1..255 are rows of that storage::Space, key and value as the local
// store holds them in clear; kind 0xFF, key "end", value u64 BE count of the
// records before it, is the last record.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::backup {

inline constexpr uint8_t kFactKind = 0;
inline constexpr uint8_t kEndKind = 0xFF;
inline constexpr char kStoreKeyFact[] = "store_key";
inline constexpr char kHandleFact[] = "handle";
// A record larger than this is damage, not data (a history value is a few KiB).
inline constexpr uint32_t kMaxRecordPart = 16u << 20;

struct Record {
  uint8_t kind = 0;
  std::string key;
  std::string value;
};

void AppendRecord(uint8_t kind, absl::string_view key, absl::string_view value, std::string& out);

// Takes the next whole record off the front of `buffer` (consumed bytes are
// wiped and erased); nullopt when `buffer` holds only part of one. DATA_LOSS
// for a length past kMaxRecordPart.
absl::StatusOr<std::optional<Record>> TakeRecord(std::string& buffer);

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_BACKUP_RECORDS_H_
