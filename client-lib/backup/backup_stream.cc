#include "client-lib/backup/backup_stream.h"

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client-lib/backup/recovery_key.h"
#include "client-lib/storage/store_header.h"
#include "sotto/status_macros.h"

namespace sotto::client::backup {
namespace {

using storage::SecretKey;

constexpr size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kCheckBytes = 16;
constexpr size_t kEphemeralBytes = crypto_scalarmult_BYTES;  // KDF 2 only
// magic | version | kdf | reserved | [ephemeral public key] | salt | key
// check | stream header | checksum
constexpr size_t kFixedBytes = 12;
constexpr size_t kTailBytes = kSaltBytes + kCheckBytes + kStreamHeaderBytes + kCheckBytes;
constexpr size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;
static_assert(kFixedBytes + kTailBytes == 84);

// Where the fields after the fixed part start for a header of KDF `kdf`.
// An unknown KDF is read as the 84-byte layout: its checksum then tells
// damage (a flipped KDF byte) from a newer writer.
size_t SaltAt(uint8_t kdf) {
  return kFixedBytes + (kdf == kKdfSealedToRecoveryKey ? kEphemeralBytes : 0);
}
size_t HeaderBytes(uint8_t kdf) { return SaltAt(kdf) + kTailBytes; }

unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }
const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }

void Personal(const char* name, unsigned char (&out)[crypto_generichash_blake2b_PERSONALBYTES]) {
  std::memset(out, 0, sizeof out);
  std::memcpy(out, name, std::min(std::strlen(name), sizeof out));
}

// KDF 2: BLAKE2b-256 of shared | ephemeral public | recipient public.
absl::Status SealedFileKey(const unsigned char* secret, absl::string_view their_public,
                           absl::string_view ephemeral, absl::string_view recipient,
                           absl::string_view salt, const SecretKey& out) {
  SecretKey shared;
  if (crypto_scalarmult(shared.data(), secret, U(their_public.data())) != 0) {
    return absl::InvalidArgumentError("a backup public key is not a valid X25519 key");
  }
  std::string input(reinterpret_cast<const char*>(shared.data()), storage::kKeyBytes);
  input.append(ephemeral.data(), ephemeral.size());
  input.append(recipient.data(), recipient.size());
  unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES];
  Personal("sotto-autobak-v1", personal);
  crypto_generichash_blake2b_salt_personal(out.data(), storage::kKeyBytes, U(input.data()),
                                           input.size(), nullptr, 0, U(salt.data()), personal);
  sodium_memzero(input.data(), input.size());
  return absl::OkStatus();
}

// KDF 3: BLAKE2b-256 keyed with the raw key, salted.
void RawFileKey(absl::string_view raw, absl::string_view salt, const SecretKey& out) {
  unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES];
  Personal("sotto-transfer-1", personal);
  crypto_generichash_blake2b_salt_personal(out.data(), storage::kKeyBytes, nullptr, 0,
                                           U(raw.data()), raw.size(), U(salt.data()), personal);
}

// The stream key (kdf id 1) and the key check (BLAKE2b-128 under kdf id 2)
// from the file key, so that the check reveals nothing about the stream key.
void Keys(const SecretKey& file_key, const SecretKey& stream, std::string& check) {
  SecretKey check_key;
  crypto_kdf_derive_from_key(stream.data(), storage::kKeyBytes, 1, "sottobak", file_key.data());
  crypto_kdf_derive_from_key(check_key.data(), storage::kKeyBytes, 2, "sottobak", file_key.data());
  static constexpr char kCheckInput[] = "sotto backup key check";
  check.assign(kCheckBytes, '\0');
  crypto_generichash(U(check.data()), kCheckBytes, U(kCheckInput), sizeof kCheckInput - 1,
                     check_key.data(), storage::kKeyBytes);
}

absl::Status CheckKeySize(const StreamKey& key) {
  const size_t want = key.kind == StreamKey::Kind::kRecoveryKey         ? kRecoveryKeyDigits
                      : key.kind == StreamKey::Kind::kRecoveryPublicKey ? crypto_scalarmult_BYTES
                                                                        : kRawKeyBytes;
  if (key.bytes.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("a backup key of this kind has ", want, " bytes, not ", key.bytes.size()));
  }
  return absl::OkStatus();
}

std::string Checksum(absl::string_view bytes) {
  std::string out(kCheckBytes, '\0');
  crypto_generichash(U(out.data()), out.size(), U(bytes.data()), bytes.size(), nullptr, 0);
  return out;
}

uint32_t ReadLength(absl::string_view four) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(four[i]);
  return n;
}

std::string LengthBytes(uint32_t n) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return out;
}

}  // namespace

struct StreamWriter::State {
  crypto_secretstream_xchacha20poly1305_state stream;
  std::string header;  // associated data of the first chunk
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

StreamWriter::StreamWriter(FILE* file) : file_(file), state_(std::make_unique<State>()) {}
StreamWriter::~StreamWriter() { sodium_memzero(pending_.data(), pending_.size()); }

StreamKey::~StreamKey() { sodium_memzero(bytes.data(), bytes.size()); }

absl::StatusOr<std::unique_ptr<StreamWriter>> StreamWriter::Start(FILE* file,
                                                                  const StreamKey& key) {
  if (sodium_init() < 0) std::abort();
  SOTTO_RETURN_IF_ERROR(CheckKeySize(key));
  std::unique_ptr<StreamWriter> w(new StreamWriter(file));
  std::string salt(kSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  SecretKey file_key;
  uint8_t kdf = kKdfBlake2b;
  std::string ephemeral;
  switch (key.kind) {
    case StreamKey::Kind::kRecoveryKey:
      DeriveBackupKey(key.bytes, salt, file_key);
      break;
    case StreamKey::Kind::kRecoveryPublicKey: {
      kdf = kKdfSealedToRecoveryKey;
      SecretKey ephemeral_secret;
      randombytes_buf(ephemeral_secret.data(), storage::kKeyBytes);
      ephemeral.assign(kEphemeralBytes, '\0');
      crypto_scalarmult_base(U(ephemeral.data()), ephemeral_secret.data());
      SOTTO_RETURN_IF_ERROR(
          SealedFileKey(ephemeral_secret.data(), key.bytes, ephemeral, key.bytes, salt, file_key));
      break;
    }
    case StreamKey::Kind::kRawKey:
      kdf = kKdfRawKey;
      RawFileKey(key.bytes, salt, file_key);
      break;
  }
  SecretKey stream_key;
  std::string check;
  Keys(file_key, stream_key, check);
  std::string header(kMagic, sizeof kMagic);
  header.push_back(static_cast<char>(kFormatVersion >> 8));
  header.push_back(static_cast<char>(kFormatVersion & 0xff));
  header.push_back(static_cast<char>(kdf));
  header.push_back('\0');
  header += ephemeral;
  header += salt;
  header += check;
  std::string stream_header(kStreamHeaderBytes, '\0');
  crypto_secretstream_xchacha20poly1305_init_push(&w->state_->stream, U(stream_header.data()),
                                                  stream_key.data());
  header += stream_header;
  header += Checksum(header);
  if (fwrite(header.data(), 1, header.size(), file) != header.size()) {
    return absl::InternalError(absl::StrCat("writing the backup: ", std::strerror(errno)));
  }
  w->written_ = header.size();
  w->state_->header = std::move(header);
  return w;
}

absl::Status StreamWriter::Write(absl::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  while (pending_.size() >= kChunkBytes) SOTTO_RETURN_IF_ERROR(Seal(/*final=*/false));
  return absl::OkStatus();
}

absl::Status StreamWriter::Finish() { return Seal(/*final=*/true); }

// Seals up to kChunkBytes of pending_ (all of it for the final chunk, which
// Write never lets grow past kChunkBytes).
absl::Status StreamWriter::Seal(bool final) {
  const size_t n = std::min(pending_.size(), kChunkBytes);
  const std::string length = LengthBytes(static_cast<uint32_t>(n + kABytes));
  std::string ad = state_->header + length;
  state_->header.clear();
  std::string sealed = length;
  sealed.resize(4 + n + kABytes);
  crypto_secretstream_xchacha20poly1305_push(
      &state_->stream, U(sealed.data() + 4), nullptr, U(pending_.data()), n, U(ad.data()),
      ad.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  sodium_memzero(pending_.data(), n);
  pending_.erase(0, n);
  if (fwrite(sealed.data(), 1, sealed.size(), file_) != sealed.size()) {
    return absl::InternalError(absl::StrCat("writing the backup: ", std::strerror(errno)));
  }
  written_ += sealed.size();
  return absl::OkStatus();
}

struct StreamReader::State {
  crypto_secretstream_xchacha20poly1305_state stream;
  std::string header;
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

StreamReader::StreamReader(FILE* file, std::string what)
    : file_(file), what_(std::move(what)), state_(std::make_unique<State>()) {}
StreamReader::~StreamReader() = default;

namespace {

// The file key of a header of KDF `kdf` under `key`; PERMISSION_DENIED when
// that key cannot open that kind of file.
absl::Status ReaderFileKey(const StreamKey& key, uint8_t kdf, absl::string_view header,
                           absl::string_view what, const SecretKey& out) {
  const absl::string_view salt = header.substr(SaltAt(kdf), kSaltBytes);
  if (key.kind == StreamKey::Kind::kRecoveryKey && kdf == kKdfBlake2b) {
    DeriveBackupKey(key.bytes, salt, out);
    return absl::OkStatus();
  }
  if (key.kind == StreamKey::Kind::kRecoveryKey && kdf == kKdfSealedToRecoveryKey) {
    SecretKey secret;
    RecoverySecretKey(key.bytes, secret);
    const absl::string_view ephemeral = header.substr(kFixedBytes, kEphemeralBytes);
    absl::Status sealed =
        SealedFileKey(secret.data(), ephemeral, ephemeral, RecoveryPublicKey(key.bytes), salt, out);
    if (!sealed.ok()) {
      return absl::DataLossError(absl::StrCat(what, " is damaged: ", sealed.message()));
    }
    return absl::OkStatus();
  }
  if (key.kind == StreamKey::Kind::kRawKey && kdf == kKdfRawKey) {
    RawFileKey(key.bytes, salt, out);
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      what,
      kdf == kKdfRawKey ? " is a history transfer, which opens with its transfer key, not a "
                          "recovery key"
                        : " is a backup, which opens with its recovery key"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StreamReader>> StreamReader::Open(FILE* file, absl::string_view what,
                                                                 const StreamKey& key) {
  if (sodium_init() < 0) std::abort();
  SOTTO_RETURN_IF_ERROR(CheckKeySize(key));
  std::unique_ptr<StreamReader> r(new StreamReader(file, std::string(what)));
  std::string header(kFixedBytes, '\0');
  size_t got = fread(header.data(), 1, header.size(), file);
  if (got < sizeof kMagic || std::memcmp(header.data(), kMagic, sizeof kMagic) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a Sotto backup (it does not start with SOTTOBAK)"));
  }
  const uint8_t kdf = got == kFixedBytes ? static_cast<uint8_t>(header[10]) : 0;
  if (got == kFixedBytes) {
    header.resize(HeaderBytes(kdf));
    got += fread(header.data() + kFixedBytes, 1, header.size() - kFixedBytes, file);
  }
  if (got < header.size()) {
    return absl::DataLossError(
        absl::StrCat(what, " is truncated: it ends inside its header (", got, " bytes)"));
  }
  const size_t checksum_at = header.size() - kCheckBytes;
  const uint16_t version = static_cast<uint16_t>((static_cast<uint8_t>(header[8]) << 8) |
                                                 static_cast<uint8_t>(header[9]));
  if (Checksum(absl::string_view(header).substr(0, checksum_at)) != header.substr(checksum_at)) {
    return absl::DataLossError(
        absl::StrCat(what, " is damaged: its header does not match its checksum"));
  }
  if (version != kFormatVersion ||
      (kdf != kKdfBlake2b && kdf != kKdfSealedToRecoveryKey && kdf != kKdfRawKey)) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " is a backup of format ", version, " (key derivation ", static_cast<int>(kdf),
        "); this Sotto reads format ", kFormatVersion, ": restore it with a newer Sotto"));
  }
  SecretKey file_key;
  SOTTO_RETURN_IF_ERROR(ReaderFileKey(key, kdf, header, what, file_key));
  SecretKey stream_key;
  std::string check;
  Keys(file_key, stream_key, check);
  const size_t check_at = SaltAt(kdf) + kSaltBytes;
  if (sodium_memcmp(check.data(), header.data() + check_at, kCheckBytes) != 0) {
    return absl::PermissionDeniedError(
        key.kind == StreamKey::Kind::kRawKey
            ? absl::StrCat("wrong transfer key for ", what)
            : absl::StrCat("wrong recovery key for ", what,
                           ": check the digits written down when it was made"));
  }
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          &r->state_->stream, U(header.data() + check_at + kCheckBytes), stream_key.data()) != 0) {
    return absl::DataLossError(absl::StrCat(what, " is damaged: its stream header is invalid"));
  }
  r->read_ = header.size();
  r->state_->header = std::move(header);
  return r;
}

absl::Status StreamReader::Next(std::string& out, bool& final) {
  sodium_memzero(out.data(), out.size());
  out.clear();
  const uint64_t offset = read_;
  const std::string where = absl::StrCat(" (chunk ", chunks_ + 1, ", at byte ", offset, ")");
  const auto truncated = [&] {
    return absl::DataLossError(absl::StrCat(what_, " is truncated: it ends before its final chunk",
                                            where, "; the backup is incomplete"));
  };
  std::string length(4, '\0');
  if (fread(length.data(), 1, 4, file_) != 4) return truncated();
  const uint32_t n = ReadLength(length);
  if (n < kABytes || n > kChunkBytes + kABytes) {
    return absl::DataLossError(
        absl::StrCat(what_, " is damaged: a chunk has an impossible length", where));
  }
  std::string sealed(n, '\0');
  if (fread(sealed.data(), 1, n, file_) != n) return truncated();
  read_ += 4 + n;
  std::string ad = state_->header + length;
  state_->header.clear();
  out.resize(n - kABytes);
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_->stream, U(out.data()), nullptr, &tag,
                                                 U(sealed.data()), n, U(ad.data()),
                                                 ad.size()) != 0) {
    out.clear();
    return absl::DataLossError(
        absl::StrCat(what_, " is damaged: a chunk does not authenticate", where,
                     "; the file was changed or corrupted after it was written"));
  }
  ++chunks_;
  final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (final && fgetc(file_) != EOF) {
    return absl::DataLossError(
        absl::StrCat(what_, " is damaged: it has bytes after its final chunk", where));
  }
  return absl::OkStatus();
}

}  // namespace sotto::client::backup
