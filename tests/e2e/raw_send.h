#ifndef SOTTO_TESTS_E2E_RAW_SEND_H_
#define SOTTO_TESTS_E2E_RAW_SEND_H_

// For tests that play a misbehaving or unusual sender: hand the server one
// Signal ciphertext for device 1 of `recipient`, framed exactly as a Sotto
// client frames it.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "client-lib/signal/engine.h"
#include "client-lib/transport/connection.h"

namespace sotto::testing {

inline absl::Status SendRawCiphertext(client::transport::Connection& connection,
                                      const std::string& recipient, uint32_t registration_id,
                                      const client::signal::Ciphertext& ciphertext,
                                      const std::string& message_id) {
  v1::SendRequest request;
  request.set_recipient(recipient);
  request.set_message_id(message_id);
  request.set_kind(v1::SEND_KIND_MESSAGE);
  v1::OutgoingEnvelope* envelope = request.add_envelopes();
  envelope->set_device_id(1);
  envelope->set_registration_id(registration_id);
  envelope->set_type(ciphertext.type == client::signal::MessageType::kPreKey
                         ? v1::ENVELOPE_TYPE_PREKEY
                         : v1::ENVELOPE_TYPE_CIPHERTEXT);
  envelope->set_ciphertext(ciphertext.body);
  auto outcome = connection.Send(request);
  if (!outcome.ok()) return outcome.status();
  if (!outcome->response.has_value()) {
    return absl::FailedPreconditionError("the server reported a device mismatch");
  }
  return absl::OkStatus();
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_E2E_RAW_SEND_H_
