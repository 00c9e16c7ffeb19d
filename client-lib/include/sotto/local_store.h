#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_LOCAL_STORE_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_LOCAL_STORE_H_

/// @file
/// The interface of the client's local store, public because an app may pass
/// its own (Client::Register / Client::Open with a store): everything the
/// library keeps on the device goes through it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/export.h"

namespace sotto::client::storage {

/// Independent key spaces. The numbers are persisted (they are the first byte
/// of every stored key): never renumber, only add.
enum class Space : uint8_t {
  kMeta = 1,
  kIdentity = 2,
  kPreKey = 3,
  kSignedPreKey = 4,
  kSession = 5,
  kTrust = 6,
  kHistory = 7,
  kConversation = 8,
  kOutbox = 9,
  /// Blinded message id (history::MessageIdKey) -> a MessageIndexEntry: the
  /// kHistory key of that message and its id. Written in the same Apply as
  /// the history record. Blinded because the server stores the same ids:
  /// raw, they would link this device's files to the server's records.
  kMessageIndex = 10,
  /// Blind(user) -> the identity key the user marked as compared
  /// (Client::MarkVerified). The contact is verified while it equals the key
  /// trusted in kTrust; accepting another key deletes it.
  kVerified = 11,
  /// Blind(user) -> the newest identity key presented for the user that was
  /// refused as untrusted (a changed key), waiting for the user's decision.
  kPendingIdentity = 12,
  /// Blinded message id (history::MessageIdKey) -> an UnsentMessage: an
  /// outgoing message the server has not accepted yet (Client::RetryUnsent). Written with the
  /// history record before the first attempt, deleted with the record's
  /// update once the server accepted it.
  kUnsent = 13,
  /// Blind(user) -> what an invite from `user` committed their identity key
  /// to (the invite's server code, then a 10-byte commitment; see
  /// docs/PROTOCOL.md "Invite codes"). While no key of `user` is trusted,
  /// only a key matching it is (and that key is verified from the start).
  kExpectedIdentity = 14,
  /// Blind("draft:" + id) -> a StoredDraft: a message being written
  /// (Client::SaveDraft), deleted when it is sent or by DeleteDraft.
  kDraft = 15,
  /// Blind("invite:" + id) -> a StoredInvite: an invite code this device
  /// created (Client::CreateInvite), so that ListInvites can show it.
  kInvite = 16,
  /// Big-endian queueing time (8 bytes) + 8 random bytes -> a serialized
  /// sotto.v1.content.Content for this account's other devices (a sent
  /// transcript, read state, a cancellation), waiting to go with SendKind
  /// SYNC. Written with what it reports, deleted once the server took it.
  kSyncOutbox = 17,
};
/// The highest Space in use (for code that visits every space).
inline constexpr Space kLastSpace = Space::kSyncOutbox;

/// "kSession" etc., for error messages.
SOTTO_EXPORT absl::string_view SpaceName(Space space);

/// One change in a batch. `value == std::nullopt` deletes the key (deleting an
/// absent key is not an error).
struct Write {
  /// The key space the key is in.
  Space space;
  /// The key within the space (arbitrary bytes).
  std::string key;
  /// The new value, or nullopt to delete the key.
  std::optional<std::string> value;
};

/// One stored key and its value (LocalStore::Scan).
struct Entry {
  /// The key, without its space.
  std::string key;
  /// The stored value.
  std::string value;
};

/// Where the client library keeps keys, sessions and history. An embedding app
/// may supply its own implementation. Implementations must be thread-safe.
/// Keys are arbitrary bytes (they may contain NUL).
class SOTTO_EXPORT LocalStore {
 public:
  virtual ~LocalStore() = default;

  /// The value stored under (space, key), or nullopt when absent: NOT_FOUND is
  /// not an error here. DATA_LOSS if the stored value is corrupt.
  virtual absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) = 0;

  /// Applies all writes atomically and durably: after OK every write is on
  /// disk; after an error none is visible. Later writes to the same key win.
  virtual absl::Status Apply(const std::vector<Write>& writes) = 0;

  /// One sync of the disk for many Applys (issue 21: a page of 1,000 fetched
  /// messages costs one fdatasync, not 1,000). Between BeginDeferredSync and
  /// the end of the span, Apply is atomic and visible to reads as always,
  /// but need not be on disk, nor even handed to the operating system, when
  /// it returns: an implementation may hold the span's writes in memory and
  /// write them at its end, all in one atomic batch (the RocksDB store does:
  /// a message's session state rewritten 1,000 times in a page is then
  /// written once). A crash of the process before the end of a span may
  /// lose its writes, all of them together; once a span has ended, a crash
  /// of the process loses none of them; EndDeferredSync returns OK once
  /// every write applied so far is on disk, and a power failure before that
  /// may lose deferred writes, whole batches and in order (a later batch is
  /// never kept without the earlier ones). Calls nest; only the outermost
  /// End ends the span. The span is the caller's to serialise (the library
  /// holds its profile lock over it) and to end before anything that
  /// depends on the writes leaves the device (an Ack, a Send). If an End
  /// fails, the span's writes may all be lost (never a part of them): the
  /// caller must not rely on them. The defaults suit a store whose every
  /// Apply is durable already.
  virtual void BeginDeferredSync() {}
  /// Ends a span (see BeginDeferredSync); OK once its writes are on disk.
  virtual absl::Status EndDeferredSync() { return absl::OkStatus(); }
  /// Ends a span without syncing: its writes reach the operating system
  /// (a crash of the process keeps them) and the disk with the next sync
  /// (the end of a later span, SyncApplied, or an Apply outside a span).
  /// For writes that a later sync must cover before anything depends on
  /// them (a message's record, synced with the encryption that sends it),
  /// or whose loss to a power failure is repaired by the protocol (a
  /// message marked sent goes back to not sent, and its retry is
  /// recognised by its id). An error means the span's writes are lost.
  virtual absl::Status EndDeferredSyncUnsynced() { return absl::OkStatus(); }
  /// Returns OK once every write applied before the call is on disk: those
  /// made outside a span and those of spans that have ended (it ends no
  /// span; the writes of a span still open are not covered). Unlike
  /// EndDeferredSync it may be called without serialising against writers,
  /// from several threads at once: writes go on while the disk syncs, and
  /// callers that arrive together may share one sync (the library's commit
  /// queue calls it with no lock of its own held, issue 21). The default
  /// suits a store whose every Apply is durable already.
  virtual absl::Status SyncApplied() { return absl::OkStatus(); }

  /// Entries of `space` whose key starts with `prefix`, in bytewise key order.
  virtual absl::StatusOr<std::vector<Entry>> Scan(Space space, absl::string_view prefix) = 0;

  /// A keyed hash (16 raw bytes) of an identifier (a handle; a message id
  /// behind a prefix of its own), stable for this store and different between
  /// stores, so that stored keys name nobody and link to nothing the server
  /// holds. Never fails.
  virtual std::string Blind(absl::string_view identifier) const = 0;

  /// Re-protects the store under `new_passphrase`, atomically: afterwards only
  /// the new passphrase opens it; on any error the old one still does.
  /// PERMISSION_DENIED if `old_passphrase` is wrong; INVALID_ARGUMENT for an
  /// empty new one. Stores without a passphrase (the default) return
  /// UNIMPLEMENTED.
  virtual absl::Status ChangePassphrase(absl::string_view old_passphrase,
                                        absl::string_view new_passphrase) {
    (void)old_passphrase;
    (void)new_passphrase;
    return absl::UnimplementedError("this local store is not protected by a passphrase");
  }
};

/// Length of Blind()'s result.
inline constexpr size_t kBlindBytes = 16;

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_LOCAL_STORE_H_
