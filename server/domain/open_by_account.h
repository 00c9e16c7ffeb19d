#ifndef SOTTO_SERVER_DOMAIN_OPEN_BY_ACCOUNT_H_
#define SOTTO_SERVER_DOMAIN_OPEN_BY_ACCOUNT_H_

// The ids of an account's open device-linking slots or history archives:
// one row per account and kind (Table::kOpenByAccount), written with a
// conditional write whenever one is opened. Why a row and not a count of a
// scan: two nodes opening one at the same instant would each count the old
// set and both pass the cap; with one row, the second write expects what
// the first replaced and is retried (conditional_write.h), so the cap is
// exact across nodes. Closing does not touch the row (it would make every
// close a second conditional write on a hot row): an entry whose record is
// gone or expired is dropped the next time the account opens one.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/store.h"

namespace sotto::server {

// The last byte of a kOpenByAccount key. kCareLinkStamp is not a set: a
// counter every care link made for the account moves (Care::CheckLinkRoom),
// which the sweep leaves alone.
enum class OpenKind : char { kLinkSlot = 'L', kHistoryTransfer = 'H', kCareLinkStamp = 'C' };

struct OpenEntry {
  std::string id;
  uint32_t created_by = 0;
  int64_t expires_at_ms = 0;
};

struct OpenSet {
  std::string key;                  // its kOpenByAccount key
  std::optional<std::string> read;  // the row as read (for Expect)
  std::vector<OpenEntry> entries;   // still open: unexpired, record present
};

// Reads `handle`'s set of `kind`, keeping only entries that expire after
// `now_ms` and whose record (under their id in `records`) still exists.
// DATA_LOSS for an undecodable row.
absl::StatusOr<OpenSet> ReadOpenSet(Store* store, OpenKind kind, absl::string_view handle,
                                    Table records, int64_t now_ms);

// Adds to `batch` the write of `set` plus `added`, expecting the row as read.
void WriteOpenSet(const OpenSet& set, const OpenEntry& added, WriteBatch& batch);

// Deletes rows of kOpenByAccount whose every entry expired by `now_ms`
// (each expecting the row as read, so a slot opened meanwhile survives).
absl::StatusOr<size_t> SweepOpenSets(Store* store, int64_t now_ms);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_OPEN_BY_ACCOUNT_H_
