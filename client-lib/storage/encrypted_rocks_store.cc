#include "client-lib/storage/encrypted_rocks_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client-lib/storage/owner_only.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "sotto/status_macros.h"

namespace sotto::client::storage {
namespace {

// Header record layout (all integers big-endian):
//   magic "SOTTO-LS" | version u8 (1) | opslimit u64 | memlimit u64 |
//   salt[16] | nonce[24] | wrapped data key[32 + 16]
// The bytes before the nonce are the associated data of the wrapping, so a
// header whose limits or salt were changed fails like a wrong passphrase.
constexpr absl::string_view kMagic = "SOTTO-LS";
constexpr uint8_t kVersion = 1;
// Space byte 0 is not a Space: it holds the store's own records.
const std::string kHeaderKey = std::string(1, '\0') + "header";

constexpr size_t kKeyBytes = 32;
constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kHeaderAdBytes = kMagic.size() + 1 + 8 + 8 + kSaltBytes;
constexpr size_t kHeaderBytes = kHeaderAdBytes + kNonceBytes + kKeyBytes + kTagBytes;

static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

void InitSodium() {
  // Idempotent and thread-safe; fails only without a source of randomness.
  if (sodium_init() < 0) std::abort();
}

// A 32-byte key in guarded memory, wiped when freed.
class SecretKey {
 public:
  SecretKey() : p_(static_cast<unsigned char*>(sodium_malloc(kKeyBytes))) {
    if (p_ == nullptr) std::abort();
  }
  ~SecretKey() { sodium_free(p_); }  // sodium_free zeroes before freeing
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  unsigned char* data() const { return p_; }

 private:
  unsigned char* p_;
};

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// The one place a rocksdb::Status becomes an absl::Status on the client.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  // A second open of the same directory fails to take the LOCK file: say
  // so in words (two `sotto` commands on one profile, or an app still
  // holding it), not only in RocksDB's.
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::UnavailableError(absl::StrCat(
        what, ": another process has this store open (a second sotto command, or an app, ",
        "using the same profile); retry when it has finished (", s.ToString(), ")"));
  }
  return absl::InternalError(msg);
}

// RocksDB's info log would otherwise be created (and old ones renamed) even by
// a read-only open; the passphrase check must not touch any file.
class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

struct Header {
  uint64_t ops = 0;
  uint64_t mem = 0;
  std::string salt;
  std::string nonce;
  std::string wrapped;
  std::string ad;  // bytes before the nonce
};

absl::StatusOr<Header> ParseHeader(absl::string_view raw) {
  if (raw.size() != kHeaderBytes || raw.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("local store header is damaged");
  }
  if (static_cast<uint8_t>(raw[kMagic.size()]) != kVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "local store header version ", static_cast<int>(static_cast<uint8_t>(raw[kMagic.size()])),
        " is not supported"));
  }
  Header h;
  size_t pos = kMagic.size() + 1;
  h.ops = GetU64(raw.substr(pos, 8));
  pos += 8;
  h.mem = GetU64(raw.substr(pos, 8));
  pos += 8;
  h.salt = std::string(raw.substr(pos, kSaltBytes));
  pos += kSaltBytes;
  h.ad = std::string(raw.substr(0, pos));
  h.nonce = std::string(raw.substr(pos, kNonceBytes));
  pos += kNonceBytes;
  h.wrapped = std::string(raw.substr(pos));
  return h;
}

absl::Status DeriveKek(absl::string_view passphrase, absl::string_view salt, uint64_t ops,
                       uint64_t mem, const SecretKey& kek) {
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
      mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("Argon2id limits out of range: ops ", ops, ", mem ", mem));
  }
  if (crypto_pwhash(kek.data(), kKeyBytes, passphrase.data(), passphrase.size(), U(salt.data()),
                    ops, static_cast<size_t>(mem), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("Argon2id ran out of memory");
  }
  return absl::OkStatus();
}

// The header for `data_key` wrapped under `passphrase` with a fresh salt and
// nonce.
absl::StatusOr<std::string> WrapHeader(const SecretKey& data_key, absl::string_view passphrase,
                                       uint64_t ops, uint64_t mem) {
  std::string header(kMagic);
  header.push_back(static_cast<char>(kVersion));
  PutU64(&header, ops);
  PutU64(&header, mem);
  std::string salt(kSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  header += salt;
  const std::string ad = header;
  SecretKey kek;
  SOTTO_RETURN_IF_ERROR(DeriveKek(passphrase, salt, ops, mem, kek));
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string wrapped(kKeyBytes + kTagBytes, '\0');
  unsigned long long wlen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(wrapped.data()), &wlen, data_key.data(), kKeyBytes,
                                             U(ad.data()), ad.size(), nullptr, U(nonce.data()),
                                             kek.data());
  header += nonce;
  header += wrapped;
  return header;
}

// Unwraps the data key of `raw_header` into `data_key`. PERMISSION_DENIED
// "wrong passphrase" if `passphrase` does not open it.
absl::Status UnwrapHeader(absl::string_view raw_header, absl::string_view passphrase,
                          const SecretKey& data_key) {
  SOTTO_ASSIGN_OR_RETURN(Header header, ParseHeader(raw_header));
  SecretKey kek;
  SOTTO_RETURN_IF_ERROR(DeriveKek(passphrase, header.salt, header.ops, header.mem, kek));
  unsigned long long klen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          data_key.data(), &klen, nullptr, U(header.wrapped.data()), header.wrapped.size(),
          U(header.ad.data()), header.ad.size(), U(header.nonce.data()), kek.data()) != 0 ||
      klen != kKeyBytes) {
    return absl::PermissionDeniedError("wrong passphrase");
  }
  return absl::OkStatus();
}

rocksdb::Options BaseOptions() {
  rocksdb::Options options;
  // Sealed values are random bytes: compression would only cost time.
  options.compression = rocksdb::kNoCompression;
  options.keep_log_file_num = 2;
  // Every file RocksDB makes is 0600, whatever the umask (owner_only.h).
  options.env = OwnerOnlyEnv();
  return options;
}

class EncryptedRocksStore final : public LocalStore {
 public:
  // Takes the data key's two subkeys.
  EncryptedRocksStore(std::unique_ptr<rocksdb::DB> db, const SecretKey& data_key)
      : db_(std::move(db)) {
    crypto_kdf_derive_from_key(value_key_.data(), kKeyBytes, 1, "sottoval", data_key.data());
    crypto_kdf_derive_from_key(blind_key_.data(), kKeyBytes, 2, "sottobln", data_key.data());
  }
  ~EncryptedRocksStore() override {
    // Close() flushes nothing we need (the WAL is synced) but reports errors
    // the destructor would hide; there is nobody to report them to here.
    db_->Close().PermitUncheckedError();
  }
  EncryptedRocksStore(const EncryptedRocksStore&) = delete;
  EncryptedRocksStore& operator=(const EncryptedRocksStore&) = delete;

  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    const std::string full = FullKey(space, key);
    std::string sealed;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), full, &sealed);
    if (s.IsNotFound()) return std::optional<std::string>();
    SOTTO_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading ", SpaceName(space))));
    SOTTO_ASSIGN_OR_RETURN(std::string value, Open(space, full, sealed));
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Apply(const std::vector<Write>& writes) override {
    rocksdb::WriteBatch batch;
    for (const Write& w : writes) {
      const std::string full = FullKey(w.space, w.key);
      rocksdb::Status s =
          w.value.has_value() ? batch.Put(full, Seal(full, *w.value)) : batch.Delete(full);
      SOTTO_RETURN_IF_ERROR(FromRocks(s, "building a write batch"));
    }
    rocksdb::WriteOptions options;
    options.sync = true;  // durable before we return: a message may be acked next
    return FromRocks(db_->Write(options, &batch), "writing the local store");
  }

  absl::StatusOr<std::vector<Entry>> Scan(Space space, absl::string_view prefix) override {
    const std::string start = FullKey(space, prefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    std::vector<Entry> out;
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      const std::string full = it->key().ToString();
      SOTTO_ASSIGN_OR_RETURN(std::string value, Open(space, full, it->value().ToString()));
      out.push_back(Entry{full.substr(1), std::move(value)});
    }
    SOTTO_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("scanning ", SpaceName(space))));
    return out;
  }

  // Re-wraps the data key (the values stay sealed under it): one synced Put
  // of the header, so a crash leaves either the old or the new header. The
  // old header is then compacted away so that the old passphrase cannot
  // unwrap the key from the live files (RocksDB unlinks, it does not
  // overwrite: a copy of the disk taken before may still hold it).
  absl::Status ChangePassphrase(absl::string_view old_passphrase,
                                absl::string_view new_passphrase) override {
    if (new_passphrase.empty()) {
      return absl::InvalidArgumentError("the new passphrase must not be empty");
    }
    absl::MutexLock lock(&passphrase_mu_);
    std::string raw;
    SOTTO_RETURN_IF_ERROR(
        FromRocks(db_->Get(rocksdb::ReadOptions(), kHeaderKey, &raw), "reading the header"));
    SOTTO_ASSIGN_OR_RETURN(Header old_header, ParseHeader(raw));
    SecretKey data_key;
    SOTTO_RETURN_IF_ERROR(UnwrapHeader(raw, old_passphrase, data_key));
    SOTTO_ASSIGN_OR_RETURN(std::string header,
                           WrapHeader(data_key, new_passphrase, old_header.ops, old_header.mem));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    SOTTO_RETURN_IF_ERROR(FromRocks(db_->Put(sync, kHeaderKey, header), "writing the header"));
    // Best effort: the new header is durable already.
    db_->Flush(rocksdb::FlushOptions()).PermitUncheckedError();
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    db_->CompactRange(compact, nullptr, nullptr).PermitUncheckedError();
    return absl::OkStatus();
  }

  std::string Blind(absl::string_view identifier) const override {
    std::string out(kBlindBytes, '\0');
    crypto_generichash(U(out.data()), out.size(), U(identifier.data()), identifier.size(),
                       blind_key_.data(), kKeyBytes);
    return out;
  }

 private:
  static std::string FullKey(Space space, absl::string_view key) {
    std::string full(1, static_cast<char>(space));
    full.append(key.data(), key.size());
    return full;
  }

  std::string Seal(absl::string_view full_key, absl::string_view value) const {
    std::string out(kNonceBytes + value.size() + kTagBytes, '\0');
    randombytes_buf(out.data(), kNonceBytes);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(U(out.data()) + kNonceBytes, &clen, U(value.data()),
                                               value.size(), U(full_key.data()), full_key.size(),
                                               nullptr, U(out.data()), value_key_.data());
    return out;
  }

  absl::StatusOr<std::string> Open(Space space, absl::string_view full_key,
                                   absl::string_view sealed) const {
    if (sealed.size() < kNonceBytes + kTagBytes) {
      return absl::DataLossError(absl::StrCat("truncated value in ", SpaceName(space)));
    }
    std::string out(sealed.size() - kNonceBytes - kTagBytes, '\0');
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            U(out.data()), &mlen, nullptr, U(sealed.data()) + kNonceBytes,
            sealed.size() - kNonceBytes, U(full_key.data()), full_key.size(), U(sealed.data()),
            value_key_.data()) != 0) {
      return absl::DataLossError(
          absl::StrCat("value in ", SpaceName(space), " failed authentication"));
    }
    return out;
  }

  const std::unique_ptr<rocksdb::DB> db_;
  absl::Mutex passphrase_mu_;
  SecretKey value_key_;
  SecretKey blind_key_;
};

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenRocks(const std::string& dir,
                                                       const rocksdb::Options& options) {
  rocksdb::DB* raw = nullptr;
  SOTTO_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, dir, &raw), absl::StrCat("opening ", dir)));
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace

KdfLimits KdfLimits::Interactive() {
  return KdfLimits{crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfLimits KdfLimits::ForTesting() {
  return KdfLimits{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

bool EncryptedStoreExists(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
}

absl::Status DestroyEncryptedStore(const std::string& dir) {
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  rocksdb::Options options = BaseOptions();
  options.info_log = std::make_shared<NullLogger>();
  return FromRocks(rocksdb::DestroyDB(dir, options), absl::StrCat("destroying ", dir));
}

absl::Status WipeEncryptedStore(const std::string& dir) {
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  // RocksDB's own lock: refused while this process or another has it open.
  rocksdb::Env* env = rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  SOTTO_RETURN_IF_ERROR(
      FromRocks(env->LockFile(dir + "/LOCK", &lock), absl::StrCat("locking ", dir)));
  absl::Status overwritten;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().filename() == "LOCK") continue;
    const std::string path = entry.path().string();
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    struct stat st {};
    bool ok = fd >= 0 && fstat(fd, &st) == 0;
    static const char kZeros[64 * 1024] = {0};
    for (off_t done = 0; ok && done < st.st_size;) {
      const size_t n = static_cast<size_t>(
          std::min<off_t>(st.st_size - done, static_cast<off_t>(sizeof kZeros)));
      const ssize_t w = pwrite(fd, kZeros, n, done);
      ok = w > 0;
      done += ok ? w : 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!ok && overwritten.ok()) {
      overwritten = absl::InternalError(
          absl::StrCat("overwriting ", path, " failed: ", std::strerror(errno)));
    }
  }
  if (ec && overwritten.ok()) {
    overwritten = absl::InternalError(absl::StrCat("listing ", dir, ": ", ec.message()));
  }
  env->UnlockFile(lock).PermitUncheckedError();
  SOTTO_RETURN_IF_ERROR(overwritten);
  // The files are zeros now: DestroyDB removes them by name, without reading.
  SOTTO_RETURN_IF_ERROR(DestroyEncryptedStore(dir));
  // DestroyDB leaves the directory when anything else is in it (a LOG.old,
  // a stray file); the profile is gone either way.
  std::filesystem::remove(dir, ec);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocalStore>> CreateEncryptedStore(const std::string& dir,
                                                                 absl::string_view passphrase,
                                                                 KdfLimits limits) {
  InitSodium();
  if (passphrase.empty()) return absl::InvalidArgumentError("passphrase must not be empty");
  if (EncryptedStoreExists(dir)) {
    return absl::AlreadyExistsError(absl::StrCat("a local store exists in ", dir));
  }
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    // A directory someone else can write may already hold their files.
    SOTTO_RETURN_IF_ERROR(CheckOwnerOnly(dir));
  } else {
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  }
  SOTTO_RETURN_IF_ERROR(MakeOwnerOnly(dir));

  SecretKey data_key;
  randombytes_buf(data_key.data(), kKeyBytes);
  SOTTO_ASSIGN_OR_RETURN(std::string header,
                         WrapHeader(data_key, passphrase, limits.ops, limits.mem));

  rocksdb::Options options = BaseOptions();
  options.create_if_missing = true;
  options.error_if_exists = true;
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocks(dir, options));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  SOTTO_RETURN_IF_ERROR(FromRocks(db->Put(sync, kHeaderKey, header), "writing the header"));
  return std::unique_ptr<LocalStore>(new EncryptedRocksStore(std::move(db), data_key));
}

absl::StatusOr<std::unique_ptr<LocalStore>> OpenEncryptedStore(const std::string& dir,
                                                               absl::string_view passphrase) {
  InitSodium();
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  SOTTO_RETURN_IF_ERROR(CheckOwnerOnly(dir));
  // Check the passphrase on a read-only open, so a wrong one changes nothing.
  std::string raw_header;
  {
    rocksdb::Options options = BaseOptions();
    options.info_log = std::make_shared<NullLogger>();
    rocksdb::DB* raw = nullptr;
    SOTTO_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::OpenForReadOnly(options, dir, &raw), absl::StrCat("opening ", dir)));
    std::unique_ptr<rocksdb::DB> ro(raw);
    rocksdb::Status s = ro->Get(rocksdb::ReadOptions(), kHeaderKey, &raw_header);
    if (s.IsNotFound())
      return absl::DataLossError(absl::StrCat("local store in ", dir, " has no header"));
    SOTTO_RETURN_IF_ERROR(FromRocks(s, "reading the header"));
    ro->Close().PermitUncheckedError();
  }
  SecretKey data_key;
  SOTTO_RETURN_IF_ERROR(UnwrapHeader(raw_header, passphrase, data_key));
  // Profiles made before files were owner-only (0755/0644) become so now.
  SOTTO_RETURN_IF_ERROR(MakeOwnerOnly(dir));
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocks(dir, BaseOptions()));
  return std::unique_ptr<LocalStore>(new EncryptedRocksStore(std::move(db), data_key));
}

}  // namespace sotto::client::storage
