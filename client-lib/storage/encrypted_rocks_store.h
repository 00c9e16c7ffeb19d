#ifndef SOTTO_CLIENT_LIB_STORAGE_ENCRYPTED_ROCKS_STORE_H_
#define SOTTO_CLIENT_LIB_STORAGE_ENCRYPTED_ROCKS_STORE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/storage/store_header.h"
#include "sotto/local_store.h"

namespace sotto::client::storage {

// Cost of Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13) when turning a
// passphrase into the key that wraps the store's data key. Chosen at creation
// and recorded in the store's header, so Open needs no limits.
struct KdfLimits {
  unsigned long long ops;
  size_t mem;
  // crypto_pwhash_OPSLIMIT_INTERACTIVE (2) / MEMLIMIT_INTERACTIVE (64 MiB):
  // about 64 ms on our 2-core reference machine.
  static KdfLimits Interactive();
  // crypto_pwhash_OPSLIMIT_MIN (1) / MEMLIMIT_MIN (8 KiB). Tests only: it
  // gives a passphrase almost no protection.
  static KdfLimits ForTesting();
};

// A LocalStore in RocksDB under `dir`, every value sealed at rest:
//  - a random 32-byte data key, wrapped (XChaCha20-Poly1305) under a key
//    derived from the passphrase with Argon2id and a random 16-byte salt; salt,
//    limits, the store's format and the wrapped key sit in an unencrypted
//    header record (store_header.h);
//  - every value sealed with XChaCha20-Poly1305 under a subkey of the data key
//    (crypto_kdf id 1, context "sottoval"), with a fresh 24-byte nonce (a
//    random prefix per open and a counter, value_sealer.h) and the format's
//    tag plus the stored key (space byte + caller key) as associated data,
//    so a value copied under another key, or read as another format, fails
//    to open (DATA_LOSS naming the space);
//  - Blind() is keyed BLAKE2b-128 (crypto_generichash) under another subkey
//    (id 2, context "sottobln"): stable across reopening, different per store;
//  - a sealed manifest of the rows of the protected spaces (store_manifest.h,
//    keyed under subkey id 3, "sottoman"), rewritten with every write, so
//    that rows deleted, replaced by an older copy or added behind the store's
//    back are refused at open.
// Keys are stored in clear: callers put only blinded handles and blinded
// message ids into them.
// Writes are synced to disk before Apply returns, except inside a
// BeginDeferredSync span: those are held in memory (pending_writes.h), seen
// by reads, and written at the span's end in one batch — synced by
// EndDeferredSync, handed to the operating system by EndDeferredSyncUnsynced.
// Key material lives in sodium_malloc'd memory and is wiped when the store
// is destroyed.
// Thread-safe. One process may have a directory open at a time.
// The directory is its owner's alone: 0700, every file in it 0600, whatever
// the umask; one that others can write, or that belongs to another user, is
// refused (owner_only.h).

// Creates a new store, and `dir` if missing. ALREADY_EXISTS if a store exists
// in `dir`; INVALID_ARGUMENT for an empty passphrase; FAILED_PRECONDITION if
// `dir` exists and belongs to another user or others can write it.
absl::StatusOr<std::unique_ptr<LocalStore>> CreateEncryptedStore(
    const std::string& dir, absl::string_view passphrase,
    KdfLimits limits = KdfLimits::Interactive());

// As CreateEncryptedStore, with the data key given rather than made: a
// profile restored from a backup (client-lib/backup/) keeps its data key, so
// that Blind() gives the same keys and every blinded row stays where it was.
absl::StatusOr<std::unique_ptr<LocalStore>> CreateEncryptedStoreWithDataKey(
    const std::string& dir, absl::string_view passphrase, const SecretKey& data_key,
    KdfLimits limits = KdfLimits::Interactive());

// For a backup (client-lib/backup/): every row of `space` of an encrypted
// store, one at a time in key order (key without its space byte; the value
// is wiped after the call), without the whole space in memory as Scan would
// hold it. The caller serialises against writers (the profile's lock).
// FAILED_PRECONDITION for a store that is not an encrypted store; the
// visitor's error stops the walk and is returned.
using RowVisitor = std::function<absl::Status(absl::string_view key, absl::string_view value)>;
absl::Status ForEachStoredRow(LocalStore& store, Space space, const RowVisitor& visit);

// A point-in-time view of an encrypted store, for a backup written while
// the profile goes on being used: taken under the caller's lock (so that it
// is a consistent copy), read without it (the rows as they were when it was
// taken, whatever is written since). Destroy it before the store is closed
// (ProfileSession::BeginOutsideRead). Not thread-safe.
class StoreSnapshot {
 public:
  virtual ~StoreSnapshot() = default;
  // As ForEachStoredRow, on the snapshot.
  virtual absl::Status ForEachRow(Space space, const RowVisitor& visit) = 0;
  // The store's data key (valid while the store is open).
  virtual const SecretKey& data_key() const = 0;
};
// FAILED_PRECONDITION for a store that is not an encrypted store.
absl::StatusOr<std::unique_ptr<StoreSnapshot>> SnapshotStore(LocalStore& store);

// Copies the store's data key into `out` (FAILED_PRECONDITION as above).
absl::Status CopyStoreDataKey(LocalStore& store, const SecretKey& out);

// Opens an existing store. NOT_FOUND if there is none in `dir`;
// PERMISSION_DENIED "wrong passphrase" if the passphrase does not unwrap the
// data key, in which case no file under `dir` is modified (the check runs on a
// read-only open). DATA_LOSS if the header is damaged; UNAVAILABLE if another
// process holds the store open; FAILED_PRECONDITION naming `dir` and the fix
// (`chmod 700 DIR`) if it belongs to another user or others can write it, or
// naming the format if a newer Sotto wrote the store. DATA_LOSS "changed
// outside Sotto", naming the space, if rows were deleted, replaced or added
// behind the store's back (store_manifest.h); no record is written then.
// A store of the format before issue 22 (format 1) is rewritten in the
// current one on its first open, in one synced write.
absl::StatusOr<std::unique_ptr<LocalStore>> OpenEncryptedStore(const std::string& dir,
                                                               absl::string_view passphrase);

// Whether `dir` holds a store (created or half-created). Never fails.
bool EncryptedStoreExists(const std::string& dir);

// Deletes the store in `dir` (its RocksDB files; the directory too if that
// leaves it empty). Needs no passphrase: it is for abandoning a half-made
// profile or a forgotten one. NOT_FOUND if there is no store; UNAVAILABLE if
// it is open. Deleted files are unlinked, not overwritten.
absl::Status DestroyEncryptedStore(const std::string& dir);

// As DestroyEncryptedStore, for data that must not be read back from the
// disk afterwards (account deletion): takes the store's lock, overwrites
// every file in `dir` with zeros and syncs it, then deletes the store and the
// directory if that leaves it empty. An overwrite cannot reach blocks a
// journaling or copy-on-write file system or an SSD kept elsewhere; whatever
// survives there is sealed under the data key, which is wrapped under the
// passphrase. NOT_FOUND if there is no store; UNAVAILABLE if it is open
// (nothing is overwritten then); INTERNAL naming the file that could not be
// overwritten.
absl::Status WipeEncryptedStore(const std::string& dir);

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_ENCRYPTED_ROCKS_STORE_H_
