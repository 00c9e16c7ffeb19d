#ifndef SOTTO_CLIENT_LIB_TRANSPORT_ENVELOPES_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_ENVELOPES_H_

// The Send request as the wire wants it, from one ciphertext per recipient
// device: the Client deals in ciphertexts, the transport in envelopes.

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/v1/messages.pb.h"

namespace sotto::client::transport {

// One recipient device's copy of a message.
struct EncryptedCopy {
  uint32_t device_id = 0;
  // The device's Signal registration id, as its session records it.
  uint32_t registration_id = 0;
  // A PreKeySignalMessage (the first of a session) rather than a
  // SignalMessage.
  bool prekey = false;
  std::string ciphertext;
};

struct SendHeader {
  std::string recipient;
  // 16 random bytes; the server's idempotency key with the sender device.
  std::string message_id;
  // A receipt is never scheduled and never counts as a message in the
  // therapist's queue.
  bool receipt = false;
  // Unix ms; 0 delivers now.
  int64_t deliver_at_ms = 0;
  // To this account's other devices (SEND_KIND_SYNC); `recipient` is then
  // our own handle.
  bool sync = false;
};

v1::SendRequest BuildSendRequest(const SendHeader& header, std::vector<EncryptedCopy> copies);

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_ENVELOPES_H_
