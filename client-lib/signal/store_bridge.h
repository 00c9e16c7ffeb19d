#ifndef SOTTO_CLIENT_LIB_SIGNAL_STORE_BRIDGE_H_
#define SOTTO_CLIENT_LIB_SIGNAL_STORE_BRIDGE_H_

#include <signal/signal_protocol.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/local_store.h"

namespace sotto::client::signal {

// libsignal's five stores (session, pre-key, signed pre-key, identity, and a
// sender-key stub: Sotto has no group messaging) on a LocalStore.
//
// Writes are transactional: everything written between Begin() and Commit()
// is held back and applied in ONE LocalStore::Apply, so a libsignal call's
// changes (new session state, removed prekey, saved identity) and the
// caller's own writes (the decrypted message) are durable together or not at
// all. Reads see the pending writes. Abort() forgets them.
//
// Inside a transaction a value read from the store is remembered until the
// transaction ends: libsignal loads a session two or three times in one call
// (contains_session, then the cipher's load; the registration id), and each
// load from the encrypted store is a lookup, a blinded key and an AEAD open.
// Only the Engine writes the spaces it reads, under the lock it holds for the
// whole transaction, so what is remembered cannot go stale before it ends.
//
// Layout (handles only ever appear blinded):
//   kIdentity "public" / "private"  own identity key pair (33 / 32 bytes)
//   kMeta "registration_id"         u32 big-endian
//   kMeta "signed_prekey_ids"       u32 BE ids, oldest first (newest = current)
//   kMeta "next_prekey_id"          u32 BE
//   kPreKey <u32 BE id>             serialized session_pre_key
//   kSignedPreKey <u32 BE id>       serialized session_signed_pre_key
//   kSession Blind(user) <u32 BE device>  u32 BE length | record | user record
//   kTrust Blind(user) <u32 BE device>    trusted identity key of that device (33 bytes)
//   kExpectedIdentity Blind(user)         an invite's commitment to the user's key
//                                         (identity_commitment.h); read here
//   kVerified Blind(user)                 written here when a first key matches it
//
// Not thread-safe: the Engine serializes all use under its lock.
class StoreBridge {
 public:
  explicit StoreBridge(storage::LocalStore* store) : store_(store) {}
  StoreBridge(const StoreBridge&) = delete;
  StoreBridge& operator=(const StoreBridge&) = delete;

  // Installs the five stores into `context` (user_data = this).
  absl::Status Install(signal_protocol_store_context* context);

  void Begin();
  // Applies the pending writes (plus none if there are none) and ends the
  // transaction. Fails with the store's status, or with the first store
  // failure a callback met.
  absl::Status Commit();
  void Abort();
  // The first LocalStore failure a callback met in this transaction.
  const absl::Status& callback_error() const { return callback_error_; }

  absl::StatusOr<std::optional<std::string>> Get(storage::Space space, absl::string_view key);
  // Entries under `prefix`, pending writes applied, in key order.
  absl::StatusOr<std::vector<storage::Entry>> Scan(storage::Space space, absl::string_view prefix);
  void Put(storage::Space space, std::string key, std::string value);
  void Delete(storage::Space space, std::string key);
  void AddWrites(std::vector<storage::Write> writes);

  std::string SessionPrefix(absl::string_view user) const { return store_->Blind(user); }
  std::string SessionKey(absl::string_view user, uint32_t device_id) const;
  std::string TrustPrefix(absl::string_view user) const { return store_->Blind(user); }
  std::string TrustKey(absl::string_view user, uint32_t device_id) const {
    return SessionKey(user, device_id);
  }

  // Records a callback's store failure and returns kErrStoreFailed.
  int Fail(const absl::Status& status);

  static std::string U32Key(uint32_t v);
  static uint32_t ReadU32(absl::string_view four_bytes);

  static constexpr absl::string_view kPublicKey = "public";
  static constexpr absl::string_view kPrivateKey = "private";
  static constexpr absl::string_view kRegistrationId = "registration_id";
  static constexpr absl::string_view kSignedPreKeyIds = "signed_prekey_ids";
  static constexpr absl::string_view kNextPreKeyId = "next_prekey_id";

 private:
  storage::LocalStore* const store_;
  std::vector<storage::Write> pending_;
  std::map<std::pair<storage::Space, std::string>, std::optional<std::string>> overlay_;
  // Values read from the store in this transaction (see the class comment).
  std::map<std::pair<storage::Space, std::string>, std::optional<std::string>> reads_;
  bool in_transaction_ = false;
  absl::Status callback_error_;
};

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_STORE_BRIDGE_H_
