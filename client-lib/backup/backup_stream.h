#ifndef SOTTO_CLIENT_LIB_BACKUP_BACKUP_STREAM_H_
#define SOTTO_CLIENT_LIB_BACKUP_BACKUP_STREAM_H_

// The backup file's two layers (docs/BACKUP.md has the exact bytes):
//  - a plain header: magic, format version, KDF id, salt, key check,
//    secretstream header, and a BLAKE2b checksum of all that;
//  - then chunks, each `u32 BE length | ciphertext` sealed with libsodium's
//    crypto_secretstream_xchacha20poly1305 (authenticated and ordered: a
//    chunk dropped, moved or changed fails to open), the length as
//    associated data (and, for the first chunk, the header too), the last
//    one tagged FINAL so that a file cut short is caught.
// What the chunks carry is a byte stream of records (backup_records.h); a
// record may straddle chunks.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::backup {

inline constexpr char kMagic[8] = {'S', 'O', 'T', 'T', 'O', 'B', 'A', 'K'};
inline constexpr uint16_t kFormatVersion = 1;
// How the file key is found (the header's KDF id; docs/BACKUP.md).
// 1: BLAKE2b-256 of the recovery key, salted and personalised (recovery_key.h).
inline constexpr uint8_t kKdfBlake2b = 1;
// 2: sealed to the public key the recovery key derives (automatic backups,
// written without the recovery key): the header carries an ephemeral X25519
// public key; the file key is BLAKE2b-256 of the X25519 shared secret and
// both public keys, salted.
inline constexpr uint8_t kKdfSealedToRecoveryKey = 2;
// 3: a random 32-byte key given with the file (a history transfer).
inline constexpr uint8_t kKdfRawKey = 3;
inline constexpr size_t kRawKeyBytes = 32;

// What seals or opens a stream.
struct StreamKey {
  enum class Kind {
    kRecoveryKey,        // 40 normalized digits: writes KDF 1, reads KDF 1 and 2
    kRecoveryPublicKey,  // 32 bytes (RecoveryPublicKey): writes KDF 2 only
    kRawKey,             // kRawKeyBytes: writes and reads KDF 3
  };
  static StreamKey Recovery(absl::string_view digits) {
    return {Kind::kRecoveryKey, std::string(digits)};
  }
  static StreamKey RecoveryPublic(absl::string_view public_key) {
    return {Kind::kRecoveryPublicKey, std::string(public_key)};
  }
  static StreamKey Raw(absl::string_view key) { return {Kind::kRawKey, std::string(key)}; }
  ~StreamKey();
  Kind kind;
  std::string bytes;
};
// Plaintext bytes per chunk, at most (the last may hold fewer).
inline constexpr size_t kChunkBytes = 64 * 1024;

// Writes the header, then chunks. Not thread-safe.
class StreamWriter {
 public:
  // `file` stays the caller's. INVALID_ARGUMENT for a key of the wrong size.
  static absl::StatusOr<std::unique_ptr<StreamWriter>> Start(FILE* file, const StreamKey& key);
  ~StreamWriter();
  // Adds bytes to the stream; full chunks are sealed and written.
  absl::Status Write(absl::string_view bytes);
  // Seals what is left as the FINAL chunk (possibly empty).
  absl::Status Finish();
  uint64_t bytes_written() const { return written_; }

 private:
  struct State;
  explicit StreamWriter(FILE* file);
  absl::Status Seal(bool final);
  FILE* const file_;
  std::unique_ptr<State> state_;
  std::string pending_;
  uint64_t written_ = 0;
};

// Reads a stream StreamWriter wrote; every failure names what was wrong:
//   INVALID_ARGUMENT   not a Sotto backup (magic), or the key is malformed
//   FAILED_PRECONDITION a format or KDF this version does not know
//   PERMISSION_DENIED  wrong recovery key (the header's key check), or a
//                      file sealed with a key of another kind
//   DATA_LOSS          the header damaged (checksum), a chunk damaged (it
//                      does not authenticate, names its number and offset),
//                      the file truncated (ends before the FINAL chunk), or
//                      bytes after the FINAL chunk
class StreamReader {
 public:
  // `file` stays the caller's; `what` names it in errors.
  static absl::StatusOr<std::unique_ptr<StreamReader>> Open(FILE* file, absl::string_view what,
                                                            const StreamKey& key);
  ~StreamReader();
  // The next chunk's plaintext into `out` (replaced, wiped first); `final`
  // is set on the last one, after which Next must not be called.
  absl::Status Next(std::string& out, bool& final);
  uint64_t bytes_read() const { return read_; }

 private:
  struct State;
  StreamReader(FILE* file, std::string what);
  FILE* const file_;
  const std::string what_;
  std::unique_ptr<State> state_;
  uint64_t chunks_ = 0;
  uint64_t read_ = 0;
};

}  // namespace sotto::client::backup

#endif  // SOTTO_CLIENT_LIB_BACKUP_BACKUP_STREAM_H_
