#ifndef SOTTO_CLIENT_LIB_STORAGE_VALUE_SEALER_H_
#define SOTTO_CLIENT_LIB_STORAGE_VALUE_SEALER_H_

// How the encrypted store seals a value at rest (encrypted_rocks_store.h):
// XChaCha20-Poly1305 under the store's value key, with the format's tag and
// the stored key as associated data, so that a value copied under another
// key, or read as another format, fails to open.
//
// Nonces: 24 bytes = a random 16-byte prefix drawn when the sealer is made
// (each time the store is opened) | a 64-bit counter. XChaCha20's nonce is
// long enough to be drawn at random for every value, which is what the
// store did until issue 21 — but that is a getrandom system call per
// value, and perf put 7% of a sync's samples in it. A prefix and a counter
// never repeat a nonce within one open; across opens, two prefixes collide
// with probability about n^2 / 2^129 after n opens. Reading needs nothing
// of this: the nonce is stored in front of each value, as before.
//
// Thread-safe (the counter is atomic). Internal to client-lib/storage.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/storage/store_header.h"

namespace sotto::client::storage {

class ValueSealer {
 public:
  // Derives the value key from `data_key` (crypto_kdf id 1, "sottoval").
  explicit ValueSealer(const SecretKey& data_key);
  ValueSealer(const ValueSealer&) = delete;
  ValueSealer& operator=(const ValueSealer&) = delete;

  // nonce | ciphertext | tag of `value` stored under `full_key`, in the
  // current format.
  std::string Seal(absl::string_view full_key, absl::string_view value);

  // The value `sealed` under `full_key` in `format`; DATA_LOSS naming
  // `where` if it is truncated or does not authenticate.
  absl::StatusOr<std::string> Open(absl::string_view where, absl::string_view full_key,
                                   absl::string_view sealed, uint8_t format = kCurrentFormat) const;

 private:
  SecretKey value_key_;
  std::array<unsigned char, 16> nonce_prefix_;
  std::atomic<uint64_t> nonce_counter_{0};
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_VALUE_SEALER_H_
