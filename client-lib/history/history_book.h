#ifndef SOTTO_CLIENT_LIB_HISTORY_HISTORY_BOOK_H_
#define SOTTO_CLIENT_LIB_HISTORY_HISTORY_BOOK_H_

// The local history in the profile's store: messages (kHistory, in arrival
// order per conversation), their id index (kMessageIndex, under blinded
// ids), the conversation summaries (kConversation) and the receipts waiting
// to go (kOutbox).
//
// Functions here read the store and return the writes to make, so that the
// caller commits them in one Apply together with whatever else belongs to
// the same event (a decryption's session state, a read receipt). The caller
// holds the profile's lock; nothing here goes to the network.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client-lib/storage/wipe.h"
#include "sotto/client/records.pb.h"
#include "sotto/local_store.h"
#include "sotto/types.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client::history {

// The record under (space, key) parsed as `Proto`; nullopt when absent,
// DATA_LOSS when it does not parse.
template <typename Proto>
absl::StatusOr<std::optional<Proto>> LoadProto(storage::LocalStore& store, storage::Space space,
                                               absl::string_view key) {
  absl::StatusOr<std::optional<std::string>> bytes = store.Get(space, key);
  if (!bytes.ok()) return bytes.status();
  if (!*bytes) return std::optional<Proto>();
  // The decrypted bytes (message text, session state, the device secret)
  // are wiped once parsed.
  storage::ScopedWipe wipe(**bytes);
  Proto proto;
  if (!proto.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("local record '", key, "' is corrupt"));
  }
  return std::optional<Proto>(std::move(proto));
}

// The store key for `message_id` wherever a message id forms a key
// (kMessageIndex, kUnsent): the store's keyed hash (LocalStore::Blind) of
// the id behind a prefix that no handle has. The server keeps the same ids,
// so raw keys would tie this device's files to the server's records and to
// the people in them; the readable id stays inside the sealed value.
std::string MessageIdKey(const storage::LocalStore& store, absl::string_view message_id);

// The public view of a stored message at `now_ms`.
Message ToMessage(const StoredMessage& stored, int64_t now_ms);

// The writes that add `stored` to the history, index its id and update its
// conversation's summary. Assigns stored.local_seq; returns the history key
// in `history_key`.
absl::StatusOr<std::vector<storage::Write>> HistoryWrites(storage::LocalStore& store,
                                                          StoredMessage& stored,
                                                          std::string* history_key = nullptr);

// The message whose id is exactly `message_id`, with its kHistory key;
// nullopt when no message has it.
absl::StatusOr<std::optional<std::pair<std::string, StoredMessage>>> LoadById(
    storage::LocalStore& store, absl::string_view message_id);

// The writes that apply a receipt from `sender` to our messages it names.
// Ids that are unknown, not ours, or not sent to `sender` are ignored.
// `changed` (if not null) gets each message the receipt moves, as it will be
// stored (for Listen's on_receipt).
absl::StatusOr<std::vector<storage::Write>> ReceiptWrites(
    storage::LocalStore& store, const std::string& sender, const v1::content::Receipt& receipt,
    std::vector<StoredMessage>* changed = nullptr);

// The write that adds `ids` to the pending receipts of `type` for `peer`:
// one new kOutbox row holding them all (outbox.h), so that queueing receipts
// costs the same whatever is pending already and reads nothing, and a page of
// a Sync queues one row per sender, not one per message (issue 21).
std::vector<storage::Write> PendingReceiptWrites(storage::LocalStore& store,
                                                 const std::string& peer,
                                                 v1::content::Receipt::Type type,
                                                 const std::vector<std::string>& ids);

// The message whose hex id starts with `id_prefix`, with its kHistory key.
// NOT_FOUND if none, INVALID_ARGUMENT if several match.
absl::StatusOr<std::pair<std::string, StoredMessage>> FindMessage(storage::LocalStore& store,
                                                                  absl::string_view id_prefix);

// The write that lets `stored` (an outgoing message whose time the server
// just set) show in its conversation's summary if it is now the newest.
absl::StatusOr<storage::Write> ShowInSummaryWrite(storage::LocalStore& store,
                                                  const StoredMessage& stored);

// The write that makes `peer`'s summary show its newest message that is
// not cancelled (after a cancellation: a cancelled send-later message must
// not stay on top of the inbox as if it were the newest).
absl::StatusOr<storage::Write> RefreshSummaryWrite(storage::LocalStore& store,
                                                   const std::string& peer,
                                                   const std::vector<storage::Write>& pending);

// The writes that take the message under `history_key` out of the history
// again (a send refused for good while its writer is still there to be
// told): the record, its id index entry, and its conversation's summary
// (deleted with its last message, else counted down and refreshed).
absl::StatusOr<std::vector<storage::Write>> ForgetWrites(storage::LocalStore& store,
                                                         const std::string& history_key,
                                                         const StoredMessage& stored);

// Conversations with the newest activity first.
absl::StatusOr<std::vector<Conversation>> ListConversations(storage::LocalStore& store);

// Every message with `peer`, oldest first, and the writes that mark them read
// (with the read receipts to queue when `read_receipts`). NOT_FOUND if there
// is no conversation with `peer`.
struct ConversationRead {
  std::vector<Message> messages;
  std::vector<storage::Write> writes;
  // The ids of the incoming messages read for the first time (for the
  // account's other devices: own_devices.h).
  std::vector<std::string> newly_read;
};
absl::StatusOr<ConversationRead> ReadConversation(storage::LocalStore& store,
                                                  absl::string_view peer, int64_t now_ms,
                                                  bool read_receipts);

// Brings the message ids in the store's keys to the current layout, once,
// in one write: profiles made before kMessageIndex existed get their index;
// profiles made before issue 22 have their raw-id keys in kMessageIndex and
// kUnsent replaced by blinded ones (MessageIdKey). Where two history records
// share an id, the one the old index named (else the oldest) keeps it.
absl::Status BuildMessageIndex(storage::LocalStore& store);
// Present once every history record has its blinded kMessageIndex entry and
// every kUnsent key is blinded. (Profiles with only the older
// "message_index_ready" have raw ids as keys.)
inline constexpr char kMessageIndexReadyKey[] = "message_index_blinded";

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_HISTORY_BOOK_H_
