#ifndef SOTTO_SERVER_RPC_CONVERT_H_
#define SOTTO_SERVER_RPC_CONVERT_H_

// Wire <-> domain value conversions shared by the services (internal to
// server/rpc). They copy fields only; the domain validates.

#include "server/domain/care.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/mailbox.h"
#include "server/domain/types.h"
#include "sotto/v1/accounts.pb.h"
#include "sotto/v1/care.pb.h"
#include "sotto/v1/common.pb.h"
#include "sotto/v1/keys.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::server::rpc {

// The domain's enums carry the wire's numbers, so each conversion is a cast;
// these pin every value the two share, so renumbering either side fails to
// compile here instead of mislabelling stored or sent data. A wire value
// the domain does not know passes through unchanged and is refused by the
// domain's validation.
static_assert(static_cast<int>(Role::kUnspecified) == sotto::v1::ROLE_UNSPECIFIED);
static_assert(static_cast<int>(Role::kClient) == sotto::v1::ROLE_CLIENT);
static_assert(static_cast<int>(Role::kTherapist) == sotto::v1::ROLE_THERAPIST);
static_assert(static_cast<int>(SendKind::kMessage) == sotto::v1::SEND_KIND_MESSAGE);
static_assert(static_cast<int>(SendKind::kReceipt) == sotto::v1::SEND_KIND_RECEIPT);
static_assert(static_cast<int>(SendKind::kSync) == sotto::v1::SEND_KIND_SYNC);
static_assert(kEnvelopeTypeCiphertext == sotto::v1::ENVELOPE_TYPE_CIPHERTEXT);
static_assert(kEnvelopeTypePreKey == sotto::v1::ENVELOPE_TYPE_PREKEY);
static_assert(static_cast<int>(LinkState::kActive) == sotto::v1::LINK_ACTIVE);
static_assert(static_cast<int>(LinkState::kEnded) == sotto::v1::LINK_ENDED);
static_assert(static_cast<int>(ConversationState::kUnspecified) ==
              sotto::v1::CONVERSATION_STATE_UNSPECIFIED);
static_assert(static_cast<int>(ConversationState::kWaiting) == sotto::v1::CONVERSATION_WAITING);
static_assert(static_cast<int>(ConversationState::kAnswered) == sotto::v1::CONVERSATION_ANSWERED);
static_assert(static_cast<int>(ConversationState::kSnoozed) == sotto::v1::CONVERSATION_SNOOZED);
static_assert(static_cast<int>(ConversationState::kClosed) == sotto::v1::CONVERSATION_CLOSED);

inline Role FromWire(sotto::v1::Role in) { return static_cast<Role>(in); }
inline sotto::v1::Role ToWire(Role in) { return static_cast<sotto::v1::Role>(in); }
inline SendKind FromWire(sotto::v1::SendKind in) { return static_cast<SendKind>(in); }
inline int FromWire(sotto::v1::EnvelopeType in) { return static_cast<int>(in); }
inline sotto::v1::LinkState ToWire(LinkState in) { return static_cast<sotto::v1::LinkState>(in); }
inline sotto::v1::ConversationState ToWire(ConversationState in) {
  return static_cast<sotto::v1::ConversationState>(in);
}

inline DeviceKeys FromWire(const sotto::v1::DeviceKeys& in) {
  DeviceKeys out;
  out.identity_key = in.identity_key();
  if (in.has_signed_prekey()) {
    out.signed_prekey = SignedPreKey{in.signed_prekey().id(), in.signed_prekey().public_key(),
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
  // A stored type was validated on Send (kEnvelopeType*), pinned above.
  out->set_type(static_cast<sotto::v1::EnvelopeType>(in.type));
  out->set_ciphertext(in.ciphertext);
  out->set_server_time_ms(in.server_time_ms);
  out->set_message_id(in.message_id);
}

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_CONVERT_H_
