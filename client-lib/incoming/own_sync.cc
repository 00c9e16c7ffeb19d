#include "client-lib/incoming/own_sync.h"

#include <string>
#include <utility>

#include "client-lib/history/delivery_state.h"
#include "client-lib/history/history_book.h"
#include "client-lib/profile/handle.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using history::LoadProto;
using storage::LocalStore;
using storage::Space;
using storage::Write;

// The message stored under `id` with its kHistory key; nullopt when there
// is none.
absl::StatusOr<std::optional<std::pair<std::string, StoredMessage>>> FindById(
    LocalStore& store, const std::string& id) {
  SOTTO_ASSIGN_OR_RETURN(
      auto indexed,
      LoadProto<MessageIndexEntry>(store, Space::kMessageIndex, history::MessageIdKey(store, id)));
  if (!indexed) return std::nullopt;
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         LoadProto<StoredMessage>(store, Space::kHistory, indexed->history_key()));
  if (!stored) return std::nullopt;
  return std::make_pair(indexed->history_key(), *std::move(stored));
}

absl::StatusOr<std::vector<Write>> TranscriptWrites(LocalStore& store, const v1::Envelope& envelope,
                                                    const v1::content::SentTranscript& sent,
                                                    std::optional<StoredMessage>& transcript) {
  // Only to a contact: never our own handle, never a name that is no handle.
  if (!ValidateHandle(sent.recipient()).ok() || sent.recipient() == envelope.sender()) {
    return std::vector<Write>();
  }
  SOTTO_ASSIGN_OR_RETURN(auto known, FindById(store, sent.message_id()));
  if (known) return std::vector<Write>();  // a second transcript of it
  StoredMessage stored;
  stored.set_message_id(sent.message_id());
  stored.set_peer(sent.recipient());
  stored.set_outgoing(true);
  stored.set_from_device(envelope.sender_device());
  const bool scheduled = sent.deliver_at_ms() > 0;
  // As the sending device has it: a send-later message is kScheduled with
  // its release time (and shows as sent once that has passed).
  stored.set_server_time_ms(scheduled ? sent.deliver_at_ms() : sent.server_time_ms());
  stored.set_state(
      static_cast<int32_t>(scheduled ? DeliveryState::kScheduled : DeliveryState::kSent));
  *stored.mutable_content() = sent.message();
  SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes, history::HistoryWrites(store, stored));
  transcript = std::move(stored);
  return writes;
}

absl::StatusOr<std::vector<Write>> ReadSyncWrites(LocalStore& store,
                                                  const v1::content::ReadSync& read) {
  std::vector<Write> writes;
  uint32_t newly_read = 0;
  for (const std::string& id : read.message_ids()) {
    SOTTO_ASSIGN_OR_RETURN(auto found, FindById(store, id));
    if (!found) continue;
    auto& [key, stored] = *found;
    if (stored.outgoing() || stored.peer() != read.peer() || stored.read()) continue;
    stored.set_read(true);
    writes.push_back(Write{Space::kHistory, key, stored.SerializeAsString()});
    ++newly_read;
  }
  if (newly_read == 0) return writes;
  const std::string blinded = store.Blind(read.peer());
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  if (summary) {
    summary->set_unread_count(summary->unread_count() > newly_read
                                  ? summary->unread_count() - newly_read
                                  : 0);
    writes.push_back(Write{Space::kConversation, blinded, summary->SerializeAsString()});
  }
  return writes;
}

absl::StatusOr<std::vector<Write>> CancelSyncWrites(LocalStore& store,
                                                    const v1::content::CancelSync& cancel) {
  SOTTO_ASSIGN_OR_RETURN(auto found, FindById(store, cancel.message_id()));
  if (!found) return std::vector<Write>();
  auto& [key, stored] = *found;
  if (!stored.outgoing() || stored.peer() != cancel.recipient() ||
      history::StoredState(stored.state()) != DeliveryState::kScheduled) {
    return std::vector<Write>();
  }
  stored.set_state(static_cast<int32_t>(DeliveryState::kCancelled));
  std::vector<Write> writes{Write{Space::kHistory, key, stored.SerializeAsString()}};
  SOTTO_ASSIGN_OR_RETURN(Write summary, history::RefreshSummaryWrite(store, stored.peer(), writes));
  writes.push_back(std::move(summary));
  return writes;
}

}  // namespace

absl::StatusOr<std::vector<Write>> OwnSyncWrites(LocalStore& store, const v1::Envelope& envelope,
                                                 const v1::content::Content& content,
                                                 std::optional<StoredMessage>& transcript) {
  switch (content.body_case()) {
    case v1::content::Content::kSentTranscript:
      return TranscriptWrites(store, envelope, content.sent_transcript(), transcript);
    case v1::content::Content::kReadSync:
      return ReadSyncWrites(store, content.read_sync());
    case v1::content::Content::kCancelSync:
      return CancelSyncWrites(store, content.cancel_sync());
    default:
      return std::vector<Write>();
  }
}

}  // namespace sotto::client
