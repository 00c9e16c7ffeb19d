#ifndef SOTTO_CLIENT_LIB_DEVICES_PROVISIONING_H_
#define SOTTO_CLIENT_LIB_DEVICES_PROVISIONING_H_

// The cryptography of linking a device (docs/PROTOCOL.md, "Linking a
// device"): the code the existing device shows, the new device's
// authenticated ephemeral key, and the provisioning ciphertext. The server
// relays all of it and learns nothing it can use:
//   - the code carries the slot id and a secret S the server never sees;
//   - the new device's ephemeral X25519 key travels with
//     HMAC-SHA256(K_mac, "sotto-link-v1 request" || slot id || key), K_mac
//     derived from S: a server that substitutes its own key cannot make the
//     MAC, and the existing device refuses to answer;
//   - the answer is sealed with XChaCha20-Poly1305 under a key derived
//     (HKDF-SHA256) from X25519(existing ephemeral, new ephemeral) with S as
//     the salt: without S no one else can open it or forge one.
// Every secret here is wiped when freed (libsodium's sodium_memzero).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::devices {

inline constexpr size_t kSlotIdBytes = 16;
inline constexpr size_t kLinkSecretBytes = 16;
inline constexpr size_t kX25519Bytes = 32;
inline constexpr size_t kMacBytes = 32;
inline constexpr uint8_t kCodeVersion = 1;
inline constexpr uint8_t kSealedVersion = 1;
// The largest provisioning ciphertext the server relays (devices.proto).
inline constexpr size_t kMaxProvisioningBytes = 1024 * 1024;

// What the existing device shows (as text and a QR code).
struct LinkCode {
  std::string slot_id;  // kSlotIdBytes
  std::string secret;   // S, kLinkSecretBytes
  // Wipes `secret`: whoever reads it off a freed heap page could answer
  // the code in the new device's place.
  ~LinkCode();
};

// "sotto-link-" + base32 (RFC 4648 alphabet, lower case, no padding) of
// version(1) || slot id(16) || S(16), in groups of 4 joined by '-'.
std::string FormatLinkCode(const LinkCode& code);
// Accepts what FormatLinkCode writes, in any case, with or without the
// dashes and spaces. INVALID_ARGUMENT naming what is wrong (a typo in the
// code, an unknown version).
absl::StatusOr<LinkCode> ParseLinkCode(absl::string_view text);

// An X25519 key pair (raw 32-byte keys); the private half is wiped on
// destruction.
class EphemeralKey {
 public:
  EphemeralKey();
  ~EphemeralKey();
  EphemeralKey(const EphemeralKey&) = delete;
  EphemeralKey& operator=(const EphemeralKey&) = delete;
  const std::string& public_key() const { return public_; }
  // X25519(private, peer); INVALID_ARGUMENT for a wrong-sized or low-order
  // peer key.
  absl::StatusOr<std::string> Agree(absl::string_view peer_public) const;

 private:
  std::string public_;
  std::string private_;
};

// The new device's MAC over its ephemeral key (kMacBytes).
std::string RequestMac(const LinkCode& code, absl::string_view ephemeral_public);
// Whether `mac` is RequestMac(code, ephemeral_public), in constant time.
bool CheckRequestMac(const LinkCode& code, absl::string_view ephemeral_public,
                     absl::string_view mac);

// The existing device: seals `plaintext` for the new device's
// `their_ephemeral` key. Layout: version(1) || our ephemeral public(32) ||
// nonce(24) || XChaCha20-Poly1305 ciphertext with its 16-byte tag.
absl::StatusOr<std::string> SealProvisioning(const LinkCode& code,
                                             absl::string_view their_ephemeral,
                                             absl::string_view plaintext);
// The new device: opens what SealProvisioning made with `ours` (the key it
// posted). DATA_LOSS when it does not open: not made with this code's S and
// this key (a substituted or damaged message); INVALID_ARGUMENT for a
// malformed one.
absl::StatusOr<std::string> OpenProvisioning(const LinkCode& code, const EphemeralKey& ours,
                                             absl::string_view sealed);

// Calls sodium_init (idempotent); aborts without an entropy source.
void EnsureSodium();

// HKDF-SHA256 (RFC 5869) with one block of output (32 bytes): all this
// format needs. Exposed for the test vectors.
std::string Hkdf32(absl::string_view salt, absl::string_view ikm, absl::string_view info);

}  // namespace sotto::client::devices

#endif  // SOTTO_CLIENT_LIB_DEVICES_PROVISIONING_H_
