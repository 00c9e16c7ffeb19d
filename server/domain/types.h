#ifndef SOTTO_SERVER_DOMAIN_TYPES_H_
#define SOTTO_SERVER_DOMAIN_TYPES_H_

// Plain value types shared by the domain services (and filled in from the
// wire by server/rpc). Byte strings are std::string.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sotto::server {

// Same numbers as sotto.v1.Role.
enum class Role : int { kUnspecified = 0, kClient = 1, kTherapist = 2 };

// A device whose secret has been checked. Only Accounts::Authenticate makes
// one from a request; everything a caller may touch is derived from it.
struct AuthenticatedDevice {
  std::string handle;
  uint32_t device_id = 0;
  Role role = Role::kUnspecified;
};

struct SignedPreKey {
  uint32_t id = 0;
  std::string public_key;  // 33 bytes
  std::string signature;   // 64 bytes, XEdDSA over public_key
};

struct OneTimePreKey {
  uint32_t id = 0;
  std::string public_key;  // 33 bytes
};

struct DeviceKeys {
  std::string identity_key;  // 33 bytes or empty (Upload: unchanged)
  std::optional<SignedPreKey> signed_prekey;
  std::vector<OneTimePreKey> one_time_prekeys;
};

struct PreKeyBundle {
  uint32_t device_id = 0;
  uint32_t registration_id = 0;
  std::string identity_key;
  SignedPreKey signed_prekey;
  std::optional<OneTimePreKey> one_time_prekey;
};

// Same numbers as sotto.v1.EnvelopeType; Signal's CiphertextMessage types.
inline constexpr int kEnvelopeTypeCiphertext = 2;
inline constexpr int kEnvelopeTypePreKey = 3;

struct OutgoingEnvelope {
  uint32_t device_id = 0;
  uint32_t registration_id = 0;
  int type = 0;
  std::string ciphertext;
};

struct StoredEnvelope {
  uint64_t seq = 0;
  std::string sender;
  uint32_t sender_device = 0;
  int type = 0;
  std::string ciphertext;
  int64_t server_time_ms = 0;
  std::string message_id;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_TYPES_H_
