#ifndef SOTTO_CLIENT_LIB_OUTGOING_DELIVERY_H_
#define SOTTO_CLIENT_LIB_OUTGOING_DELIVERY_H_

// Getting one plaintext to every device of a recipient: start or repair the
// Signal sessions from the server's key directory, encrypt once per device,
// send, and start again (at most kSendRepairAttempts times) when the server
// says the recipient's devices changed.
//
// The profile's lock is held for the local steps only (sessions, encryption)
// and released around every call to the server (GetBundle, Send), so that a
// Send stalled on the network never holds up History, ListConversations or
// an incoming message.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/storage/wipe.h"
#include "client-lib/transport/envelopes.h"
#include "sotto/types.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

struct Delivery {
  Delivery() = default;
  Delivery(Delivery&&) = default;
  Delivery& operator=(Delivery&&) = default;
  // The plaintext is wiped once the delivery is done with.
  ~Delivery() { storage::Wipe(plaintext); }

  transport::SendHeader header;
  std::string plaintext;
  // A request encrypted by an earlier attempt, sent again as it is (the
  // server recognises it if the earlier attempt did arrive).
  std::optional<v1::SendRequest> prepared;
  // Called under the profile's lock with each freshly encrypted request,
  // before it is sent (a message records it, so a retry after a crash sends
  // the same bytes). An error stops the delivery before anything is sent.
  std::function<absl::Status(const v1::SendRequest&)> on_encrypted;
};

// For an advisory send (a receipt, a sync to our own devices): whether the
// server refused it for good (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
// FAILED_PRECONDITION: the link ended, the peer or device is gone), so that
// retrying cannot help and it is dropped. Anything else (unreachable server,
// a full queue, a local error) is retried later.
bool RefusedForGood(const absl::Status& status);

// A recipient whose identity change is held (any change, verified or not:
// HoldIdentityChange) gets nothing: FAILED_PRECONDITION before anything is
// encrypted for them.
absl::StatusOr<v1::SendResponse> Deliver(ProfileSession& session, Delivery delivery)
    ABSL_LOCKS_EXCLUDED(session.mu);

// The first attempt's local step done by a caller that holds the lock and a
// deferred span already (Sender::Send, right after recording the message):
// when sessions with the recipient exist, encrypts for each of its devices
// and calls on_encrypted, so the message's record, the new session state and
// the recorded request reach the store in one batch. nullopt when sessions
// must be started first (Deliver does that, without the lock). The caller
// makes the span durable (ProfileSession::CommitStore) before the request is
// sent, and then passes it as Delivery::prepared. Errors as Deliver's.
absl::StatusOr<std::optional<v1::SendRequest>> EncryptWithExistingSessions(ProfileSession& session,
                                                                           const Delivery& delivery)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_OUTGOING_DELIVERY_H_
