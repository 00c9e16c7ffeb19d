#ifndef SOTTO_CLIENT_LIB_INCOMING_OWN_SYNC_H_
#define SOTTO_CLIENT_LIB_INCOMING_OWN_SYNC_H_

// What another device of our own account tells this one (SEND_KIND_SYNC,
// docs/PROTOCOL.md "Own devices"), turned into writes to the local history:
// a sent transcript becomes an outgoing message under the same id (once:
// a second transcript of it changes nothing), a read sync marks incoming
// messages read without a read receipt, a cancel sync marks a transcript's
// send-later message cancelled.

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "sotto/client/records.pb.h"
#include "sotto/local_store.h"
#include "sotto/v1/content.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

// The writes for `content`, which came from `envelope` (our own handle,
// another device). `transcript` is set to the message a new transcript
// adds. Content of any other kind, or naming messages that are not there or
// not of that conversation, gives no writes: it is acknowledged and
// forgotten (a newer device may sync kinds this version does not know).
absl::StatusOr<std::vector<storage::Write>> OwnSyncWrites(
    storage::LocalStore& store, const v1::Envelope& envelope, const v1::content::Content& content,
    std::optional<StoredMessage>& transcript);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_INCOMING_OWN_SYNC_H_
