#include "client-lib/transport/envelopes.h"

#include <utility>

namespace sotto::client::transport {

v1::SendRequest BuildSendRequest(const SendHeader& header, std::vector<EncryptedCopy> copies) {
  v1::SendRequest request;
  request.set_recipient(header.recipient);
  request.set_message_id(header.message_id);
  request.set_kind(header.sync      ? v1::SEND_KIND_SYNC
                   : header.receipt ? v1::SEND_KIND_RECEIPT
                                    : v1::SEND_KIND_MESSAGE);
  request.set_deliver_at_ms(header.deliver_at_ms);
  for (EncryptedCopy& copy : copies) {
    v1::OutgoingEnvelope* envelope = request.add_envelopes();
    envelope->set_device_id(copy.device_id);
    envelope->set_registration_id(copy.registration_id);
    envelope->set_type(copy.prekey ? v1::ENVELOPE_TYPE_PREKEY : v1::ENVELOPE_TYPE_CIPHERTEXT);
    envelope->set_ciphertext(std::move(copy.ciphertext));
  }
  return request;
}

}  // namespace sotto::client::transport
