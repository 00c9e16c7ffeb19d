#ifndef SOTTO_CLIENT_LIB_STORAGE_STORE_MANIFEST_H_
#define SOTTO_CLIENT_LIB_STORAGE_STORE_MANIFEST_H_

// The encrypted store's manifest: for each protected space, how many rows it
// holds and an order-independent digest of them (the XOR of a keyed
// BLAKE2b-256 of every row's stored key and sealed value). It is kept as a
// sealed record of the store itself, rewritten in the same RocksDB write as
// every change, and checked against the rows at open.
//
// Why: sealing stops anyone without the passphrase from reading or forging a
// row, but someone who can write the profile's files can still delete one.
// Deleting a kTrust row would make the next key a server presents look like
// a first contact; deleting a kSession row, a fresh start; deleting a
// kUnsent row, a message silently never sent. With the manifest such a
// deletion (or a row replaced by an older sealed copy of itself, or a row
// moved in) is refused at open with DATA_LOSS naming the space.
//
// What it does not detect: the whole profile directory replaced by an older
// copy of itself (the manifest rolls back with the rows; detecting that
// needs a counter kept outside the files). The history spaces (kHistory,
// kConversation, kMessageIndex) are not covered: they grow without bound,
// checking them would make every open read the whole history, and losing a
// row there loses a message from view but changes no decision about keys.
// So the check at open reads only the protected rows — about a hundred
// (one-time prekeys, sessions, trust, pending receipts and sends) — whatever
// the history's size: measured at 2,000 messages, 110 rows and ~1 ms
// (issue 21). A set hash kept up to date per write would not remove that
// read: a deleted row is seen only by finding the rows.

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::storage {

inline constexpr size_t kRowHashBytes = 32;
using RowHash = std::array<unsigned char, kRowHashBytes>;

// Whether rows whose stored key starts with `space_byte` are in the manifest.
bool IsManifestSpace(uint8_t space_byte);

// The keyed hash of one stored row (`full_key` = space byte + key).
RowHash HashRow(const unsigned char* manifest_key, absl::string_view full_key,
                absl::string_view sealed);

class StoreManifest {
 public:
  void Add(uint8_t space_byte, const RowHash& row);
  void Remove(uint8_t space_byte, const RowHash& row);

  std::string Encode() const;
  // DATA_LOSS if `bytes` is not a manifest.
  static absl::StatusOr<StoreManifest> Decode(absl::string_view bytes);

  // OK if `found` (computed from the rows) equals this (the stored
  // manifest); else DATA_LOSS naming the first space that differs, its row
  // counts, and `dir`.
  absl::Status Check(const StoreManifest& found, absl::string_view dir) const;

 private:
  struct SpaceDigest {
    uint64_t rows = 0;
    RowHash digest{};
    bool operator==(const SpaceDigest& o) const { return rows == o.rows && digest == o.digest; }
  };
  std::array<SpaceDigest, 256> spaces_{};
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_STORE_MANIFEST_H_
