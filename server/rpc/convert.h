#ifndef SOTTO_SERVER_RPC_CONVERT_H_
#define SOTTO_SERVER_RPC_CONVERT_H_

// Wire <-> domain value conversions shared by the services (internal to
// server/rpc). They copy fields only; the domain validates.

#include "server/domain/types.h"
#include "sotto/v1/accounts.pb.h"
#include "sotto/v1/keys.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::server::rpc {

inline DeviceKeys FromWire(const sotto::v1::DeviceKeys& in) {
  DeviceKeys out;
  out.identity_key = in.identity_key();
  if (in.has_signed_prekey()) {
    out.signed_prekey = SignedPreKey{in.signed_prekey().id(),
                                     in.signed_prekey().public_key(),
                                     in.signed_prekey().signature()};
  }
  for (const auto& k : in.one_time_prekeys()) {
    out.one_time_prekeys.push_back(OneTimePreKey{k.id(), k.public_key()});
  }
  return out;
}

inline void ToWire(const StoredEnvelope& in, sotto::v1::Envelope* out) {
  out->set_seq(in.seq);
  out->set_sender(in.sender);
  out->set_sender_device(in.sender_device);
  out->set_type(static_cast<sotto::v1::EnvelopeType>(in.type));
  out->set_ciphertext(in.ciphertext);
  out->set_server_time_ms(in.server_time_ms);
  out->set_message_id(in.message_id);
}

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CONVERT_H_
