#ifndef SOTTO_CLIENT_LIB_STORAGE_STORE_HEADER_H_
#define SOTTO_CLIENT_LIB_STORAGE_STORE_HEADER_H_

// The encrypted store's header record: the data key wrapped under the
// passphrase, and the store's format. Internal to client-lib/storage.
//
// Layout (all integers big-endian):
//   magic "SOTTO-LS" | format u8 | opslimit u64 | memlimit u64 |
//   salt[16] | nonce[24] | wrapped data key[32 + 16]
// The bytes before the nonce are the associated data of the wrapping, so a
// header whose format, limits or salt were changed fails like a wrong
// passphrase: nobody without the passphrase can turn a store back into an
// older format (which would skip the manifest check, store_manifest.h).
//
// Formats:
//   1  values sealed with the stored key alone as associated data; no
//      manifest. Written by Sotto before issue 22; opened by migrating.
//   2  values sealed with "SOTTO-LS" | 2 | stored key as associated data, and
//      an authenticated manifest of the protected spaces.

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::storage {

inline constexpr absl::string_view kStoreMagic = "SOTTO-LS";
inline constexpr uint8_t kLegacyFormat = 1;
inline constexpr uint8_t kCurrentFormat = 2;
inline constexpr size_t kKeyBytes = 32;

// A 32-byte key in guarded memory (sodium_malloc), wiped when freed.
class SecretKey {
 public:
  SecretKey();
  ~SecretKey();
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  unsigned char* data() const { return p_; }

 private:
  unsigned char* p_;
};

struct StoreHeader {
  uint8_t format = 0;
  uint64_t ops = 0;
  uint64_t mem = 0;
};

// The format and limits of `raw`. DATA_LOSS if it is not a header;
// FAILED_PRECONDITION naming the format if a newer Sotto wrote it.
absl::StatusOr<StoreHeader> ParseStoreHeader(absl::string_view raw);

// A header of `format` holding `data_key` wrapped under `passphrase`, with a
// fresh salt and nonce.
absl::StatusOr<std::string> WrapStoreHeader(const SecretKey& data_key, absl::string_view passphrase,
                                            uint64_t ops, uint64_t mem,
                                            uint8_t format = kCurrentFormat);

// Unwraps the data key of `raw` into `data_key`. PERMISSION_DENIED "wrong
// passphrase" if `passphrase` does not open it.
absl::Status UnwrapStoreHeader(absl::string_view raw, absl::string_view passphrase,
                               const SecretKey& data_key);

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_STORE_HEADER_H_
