#include "client-lib/storage/store_manifest.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/big_endian.h"
#include "sotto/local_store.h"

namespace sotto::client::storage {
namespace {

constexpr uint8_t kManifestVersion = 1;
constexpr size_t kEntryBytes = 1 + 8 + kRowHashBytes;

void XorInto(RowHash& digest, const RowHash& row) {
  for (size_t i = 0; i < kRowHashBytes; ++i) digest[i] ^= row[i];
}

}  // namespace

bool IsManifestSpace(uint8_t space_byte) {
  if (space_byte == 0) return false;  // the store's own records
  const Space space = static_cast<Space>(space_byte);
  // New spaces are covered unless they are added here, with the reason.
  return space != Space::kHistory && space != Space::kConversation && space != Space::kMessageIndex;
}

RowHash HashRow(const unsigned char* manifest_key, absl::string_view full_key,
                absl::string_view sealed) {
  // The key's length first, so that no (key, value) split of the same bytes
  // collides with another.
  std::string len;
  PutU64(&len, full_key.size());
  crypto_generichash_state state;
  crypto_generichash_init(&state, manifest_key, crypto_generichash_KEYBYTES, kRowHashBytes);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(len.data()), len.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(full_key.data()),
                            full_key.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(sealed.data()),
                            sealed.size());
  RowHash out;
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

void StoreManifest::Add(uint8_t space_byte, const RowHash& row) {
  SpaceDigest& s = spaces_[space_byte];
  ++s.rows;
  XorInto(s.digest, row);
}

void StoreManifest::Remove(uint8_t space_byte, const RowHash& row) {
  SpaceDigest& s = spaces_[space_byte];
  --s.rows;
  XorInto(s.digest, row);
}

std::string StoreManifest::Encode() const {
  std::string out(1, static_cast<char>(kManifestVersion));
  for (size_t b = 0; b < spaces_.size(); ++b) {
    const SpaceDigest& s = spaces_[b];
    if (s.rows == 0 && s.digest == RowHash{}) continue;
    out.push_back(static_cast<char>(b));
    PutU64(&out, s.rows);
    out.append(reinterpret_cast<const char*>(s.digest.data()), s.digest.size());
  }
  return out;
}

absl::StatusOr<StoreManifest> StoreManifest::Decode(absl::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kManifestVersion ||
      (bytes.size() - 1) % kEntryBytes != 0) {
    return absl::DataLossError("the local store's manifest is damaged");
  }
  StoreManifest m;
  for (size_t pos = 1; pos < bytes.size(); pos += kEntryBytes) {
    SpaceDigest& s = m.spaces_[static_cast<uint8_t>(bytes[pos])];
    s.rows = GetU64(bytes.substr(pos + 1, 8));
    const absl::string_view digest = bytes.substr(pos + 9, kRowHashBytes);
    std::copy(digest.begin(), digest.end(), s.digest.begin());
  }
  return m;
}

absl::Status StoreManifest::Check(const StoreManifest& found, absl::string_view dir) const {
  for (size_t b = 0; b < spaces_.size(); ++b) {
    if (spaces_[b] == found.spaces_[b]) continue;
    const SpaceDigest& want = spaces_[b];
    const SpaceDigest& got = found.spaces_[b];
    return absl::DataLossError(absl::StrCat(
        "the local store in ", dir,
        " was changed outside Sotto: ", SpaceName(static_cast<Space>(b)), " holds ", got.rows,
        " rows where its manifest records ", want.rows,
        want.rows == got.rows
            ? " with other contents (a row replaced by an older copy or moved)"
            : (got.rows < want.rows ? " (rows were deleted)" : " (rows were added)"),
        "; refusing to use keys and contacts that may have been tampered with. Restore the "
        "profile from a backup, or remove it and register this device again"));
  }
  return absl::OkStatus();
}

}  // namespace sotto::client::storage
