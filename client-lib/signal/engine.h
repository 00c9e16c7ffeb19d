#ifndef SOTTO_CLIENT_LIB_SIGNAL_ENGINE_H_
#define SOTTO_CLIENT_LIB_SIGNAL_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/local_store.h"

namespace sotto::client::signal {

// One device of one user. device_id is 1..2^31-1.
struct Address {
  std::string user;
  uint32_t device_id;
};

// Public keys are 33 bytes (0x05 + X25519), signatures 64 bytes (XEdDSA over
// the 33-byte public key), as in Signal.
struct SignedPreKeyData {
  uint32_t id;
  std::string public_key;
  std::string signature;
  int64_t created_ms;
};

struct OneTimePreKeyData {
  uint32_t id;
  std::string public_key;
};

// One device's prekey bundle as fetched from the server.
struct Bundle {
  uint32_t device_id;
  uint32_t registration_id;
  std::string identity_key;
  uint32_t signed_prekey_id;
  std::string signed_prekey_public;
  std::string signed_prekey_signature;
  std::optional<OneTimePreKeyData> one_time_prekey;
};

// Signal's CiphertextMessage types.
enum class MessageType { kCiphertext = 2, kPreKey = 3 };

// body = the standard Signal v3 serialization.
struct Ciphertext {
  MessageType type;
  std::string body;
};

// A safety number: libsignal's fingerprint of two (handle, identity key)
// pairs, the same on both sides of a conversation.
struct SafetyNumberData {
  // 60 digits (12 groups of 5, no separators).
  std::string displayable;
  // The scannable form's serialization (a protobuf, for a QR code).
  std::string scannable;
};

// Iterations of the fingerprint hash: > 112 bits of work (fingerprint.h).
inline constexpr int kFingerprintIterations = 5200;
// The scannable format: version 1 is the newest libsignal-protocol-c 2.3.3
// speaks (it accepts 0 or 1).
inline constexpr int kScannableFingerprintVersion = 1;

// At most this many one-time prekeys per GeneratePreKeys call.
inline constexpr uint32_t kMaxPreKeysPerCall = 1000;
// Signed prekeys kept, newest first: the current one and the two before it,
// for PreKey messages still in flight to them.
inline constexpr size_t kSignedPreKeysKept = 3;

// The Signal protocol (X3DH + Double Ratchet, message version 3, via
// libsignal-protocol-c) for one device, with every key, session and trusted
// identity in a LocalStore. Each operation's state changes are committed in
// one atomic LocalStore::Apply, or not at all if it fails.
//
// Trust on first use, per user: the first identity key seen for a user is
// trusted (for that device) — unless an invite committed to the user's key
// (ExpectIdentity): then only the committed key is trusted, and verified
// from the first message on. A device must keep its key: a different one
// later is refused until the user accepts it (AcceptPendingIdentity). A device of a
// known user that we have not seen before is trusted only if it presents a
// key already trusted for that user; otherwise it is refused too, so that a
// server cannot slip in a "new device" of someone we talk to and read what
// we send them. (Each device may have its own identity key, see
// accounts.proto DeviceKeys, but until devices can be verified a second
// device must present the first one's key.)
//
// Local-store failures never come back as a code a peer could cause: they
// are INTERNAL (or UNAVAILABLE when the store says to retry), so a caller can
// tell "this message is bad, drop it" from "our disk failed, keep it".
//
// Thread-safe; operations are serialized (libsignal takes one lock per
// context). Errors name the address involved.
class Engine {
 public:
  // `store` must outlive the engine. Loads nothing secret until needed.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(storage::LocalStore* store);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // First-time set-up: identity key pair + registration id (1..16380), stored.
  // ALREADY_EXISTS if present.
  absl::Status CreateIdentity();
  // ---- linking a device (engine_provisioning.cc) ----
  // The account's identity key pair: public 33 bytes, private 32 bytes.
  struct IdentityKeyPair {
    std::string public_key;
    std::string private_key;
  };
  // For the provisioning message only, which is sealed to the new device of
  // the same account at once. FAILED_PRECONDITION without an identity.
  absl::StatusOr<IdentityKeyPair> ExportIdentityKeyPair();
  // First-time set-up of a linked device: the account's identity key pair
  // (checked: the private half must give the public one) with a new
  // registration id, stored. ALREADY_EXISTS if an identity is present;
  // INVALID_ARGUMENT for a malformed or mismatched pair.
  absl::Status ImportIdentity(const IdentityKeyPair& pair);
  // Pins `key` as `user`'s trusted identity key (and as compared when
  // `verified`), as the linking device had it. INVALID_ARGUMENT for a key
  // that is not 33 bytes.
  absl::Status ImportTrustedIdentity(absl::string_view user, absl::string_view key,
                                     bool verified);

  // FAILED_PRECONDITION if CreateIdentity has not run.
  absl::StatusOr<uint32_t> RegistrationId();
  // 33 bytes. FAILED_PRECONDITION if CreateIdentity has not run.
  absl::StatusOr<std::string> IdentityPublicKey();
  // An XEdDSA signature (64 bytes, libsignal's curve_calculate_signature)
  // of `message` by this device's identity private key, which never leaves
  // the Engine: for documents the user vouches for (the clinical record,
  // client-lib/record/). Verify with VerifyIdentitySignature
  // (identity_signature.h). FAILED_PRECONDITION without an identity.
  absl::StatusOr<std::string> SignWithIdentity(absl::string_view message);

  // Generates, stores and returns a new signed prekey (next id, 1..0xFFFFFF,
  // wrapping), signed by the identity key, created at `now_ms`. Keeps the
  // newest kSignedPreKeysKept (this one included) for PreKey messages in
  // flight; older ones are deleted. FAILED_PRECONDITION without an identity.
  absl::StatusOr<SignedPreKeyData> RotateSignedPreKey(int64_t now_ms);
  // The newest signed prekey. NOT_FOUND if none was made yet.
  absl::StatusOr<SignedPreKeyData> CurrentSignedPreKey();

  // Generates and stores `count` (1..kMaxPreKeysPerCall) one-time prekeys with
  // fresh ids (continuing after the last id used, wrapping within
  // 1..0xFFFFFF). A prekey is removed once a PreKey message using it decrypts.
  absl::StatusOr<std::vector<OneTimePreKeyData>> GeneratePreKeys(uint32_t count);

  absl::StatusOr<bool> HasSession(const Address& address);
  // Devices of `user` we have a session with, ascending.
  absl::StatusOr<std::vector<uint32_t>> SessionDevices(absl::string_view user);
  // Forgets the session (not the trusted identity). OK if there was none.
  absl::Status DeleteSession(const Address& address);

  // X3DH from a fetched bundle, creating or replacing the session with
  // `address`. Trusts the identity on first use (see above).
  // FAILED_PRECONDITION if the identity differs from the one trusted for the
  // device, or the device is new and its identity differs from every one
  // trusted for the user ("<user> has a new device with an unverified
  // identity key"); INVALID_ARGUMENT for a malformed or badly-signed bundle or
  // a bundle.device_id other than address.device_id.
  absl::Status ProcessBundle(const Address& address, const Bundle& bundle);

  // Encrypts for `address`. Until the peer replies, messages are kPreKey.
  // NOT_FOUND without a session; FAILED_PRECONDITION if the peer's identity is
  // no longer trusted.
  absl::StatusOr<Ciphertext> Encrypt(const Address& address, absl::string_view plaintext);

  // What Decrypt's caller does with a plaintext: the writes to commit with
  // the session, or an error that aborts the decryption.
  using PlaintextFn =
      std::function<absl::StatusOr<std::vector<storage::Write>>(absl::string_view plaintext)>;

  // Decrypts. `on_plaintext` (may be empty) is called with the plaintext from
  // inside libsignal's decryption callback and returns extra writes; those
  // writes are committed in the SAME atomic LocalStore::Apply as the updated
  // session state (and the consumed one-time prekey), so a crash can never
  // keep one without the other. If it returns an error, libsignal stops
  // before storing anything and Decrypt returns that error as is (so the
  // message can be decrypted again later). `on_plaintext` must not call the
  // Engine.
  // Errors caused by the peer or the network: ALREADY_EXISTS for a duplicate
  // (already decrypted) message — callers drop it silently;
  // FAILED_PRECONDITION for an untrusted identity (a changed key, or a new
  // device of a known user with an unknown key); NOT_FOUND when there is no
  // session for a kCiphertext message; INVALID_ARGUMENT for malformed input;
  // DATA_LOSS for undecryptable input (tampered, or for a prekey this device
  // no longer has). Our own failures: INTERNAL or UNAVAILABLE for the local
  // store, or on_plaintext's error. On any error nothing is written and the
  // session is as before.
  absl::StatusOr<std::string> Decrypt(const Address& from, const Ciphertext& message,
                                      PlaintextFn on_plaintext = {});

  // Registration id of the peer device of an existing session (for the
  // envelope). NOT_FOUND without a session.
  absl::StatusOr<uint32_t> RemoteRegistrationId(const Address& address);

  // Remote identity key currently trusted for `address` (33 bytes), nullopt
  // if none.
  absl::StatusOr<std::optional<std::string>> TrustedIdentity(const Address& address);
  // The same for `user`'s lowest-numbered device with a trusted identity.
  absl::StatusOr<std::optional<std::string>> TrustedIdentity(absl::string_view user);

  // ---- changed identity keys ----
  // Whenever ProcessBundle or Decrypt (a PreKey message) refuses an identity
  // key as untrusted, the key and the device that presented it are recorded
  // as the user's pending identity (the newest refusal wins), so that the
  // user can compare it and accept it.

  // Why a key is pending. The values are stored: never renumber.
  enum class PendingKind : uint8_t {
    // A device we trusted a key for presented another one.
    kChanged = 0,
    // A device new to us presented a key other than the user's trusted one.
    kNewDevice = 1,
    // The first key seen for the user does not match their invite's
    // commitment (ExpectIdentity).
    kNotTheInvitedKey = 2,
  };
  struct PendingKey {
    uint32_t device_id;
    std::string key;  // 33 bytes
    // kind == kNewDevice (kept for the callers that only ask this).
    bool new_device;
    PendingKind kind;
  };
  // The pending identity of `user`, nullopt if none.
  absl::StatusOr<std::optional<PendingKey>> PendingIdentity(absl::string_view user);
  // Accepts `user`'s pending identity if it is `expected_key` (the key whose
  // safety number the user was shown): it becomes the one trusted key of the
  // user (for the device that presented it; other devices must present the
  // same key), and the user's old trusted keys, sessions, verification and
  // pending record are deleted, in one atomic write. Messages refused under
  // that key decrypt afterwards; the next send starts new sessions.
  // FAILED_PRECONDITION if nothing is pending for `user`, or the pending key
  // is not `expected_key` (another key was swapped in since; nothing
  // changes).
  absl::Status AcceptPendingIdentity(absl::string_view user, absl::string_view expected_key);
  // Records that an invite from `user` committed to their identity key:
  // `commitment` (kCommitmentBytes) over `salt` (the invite's normalised
  // server code), see identity_commitment.h. While no key of `user` is
  // trusted, only a matching one is (and is verified with it); a refused one
  // becomes pending as kNotTheInvitedKey. If a key of `user` is already
  // trusted: OK and it is marked verified when it matches; when it does not,
  // its verification is cleared and FAILED_PRECONDITION says so.
  // INVALID_ARGUMENT for an empty salt or a commitment of the wrong size.
  absl::Status ExpectIdentity(absl::string_view user, absl::string_view salt,
                              absl::string_view commitment);
  // Records that the user compared `user`'s safety number for the currently
  // trusted key. FAILED_PRECONDITION if no key is trusted for `user`, or a
  // changed key is pending (accept or reject it first).
  absl::Status MarkVerified(absl::string_view user);
  // Whether `user` is verified: the verified key is still the trusted one.
  absl::StatusOr<bool> IsVerified(absl::string_view user);
  // The safety number of `local_user` (this device's identity key) and
  // `remote_user` with `remote_identity_key` (33 bytes). INVALID_ARGUMENT for
  // a malformed key; FAILED_PRECONDITION without our own identity.
  absl::StatusOr<SafetyNumberData> SafetyNumber(absl::string_view local_user,
                                                absl::string_view remote_user,
                                                absl::string_view remote_identity_key);

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_ENGINE_H_
