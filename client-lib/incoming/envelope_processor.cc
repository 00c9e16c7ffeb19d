// ProcessEnvelope (receiver.h): one envelope from the server's queue to the
// local history, atomically with the Signal session state.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "client-lib/content/codec.h"
#include "client-lib/convert/wire_types.h"
#include "client-lib/history/history_book.h"
#include "client-lib/history/outbox.h"
#include "client-lib/identity/identity_guard.h"
#include "client-lib/incoming/own_sync.h"
#include "client-lib/incoming/receiver.h"
#include "client-lib/outgoing/own_devices.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using storage::Write;
using v1::content::Content;
using v1::content::Receipt;

// Stored (as a text) in place of a message that decrypted but that this
// version cannot show: content that does not decode, or a body of a kind it
// does not know (PROTOCOL.md: receivers tell the user to update).
constexpr char kUnreadableText[] = "[This message could not be read by this version of Sotto]";

// A contact's device could not read some of our messages and asks for them
// again (a RESEND receipt): those we sent to that contact, not yet sent
// again kMaxResends times, are queued in the outbox (ReceiptOutbox sends
// them), in the write that stores the session state. Other ids are ignored:
// a contact can only ask for what was sent to them. An id named twice is
// queued once: each sending again counts against kMaxResends, so one
// receipt listing an id three times would otherwise spend the whole cap.
absl::StatusOr<std::vector<Write>> ResendRequestWrites(storage::LocalStore& store,
                                                       const std::string& sender,
                                                       const Receipt& receipt) {
  std::vector<std::string> ours;
  for (const std::string& id : receipt.message_ids()) {
    if (std::find(ours.begin(), ours.end(), id) != ours.end()) continue;
    SOTTO_ASSIGN_OR_RETURN(auto found, history::LoadById(store, id));
    if (!found) continue;
    const StoredMessage& stored = found->second;
    if (!stored.outgoing() || stored.peer() != sender ||
        stored.resends() >= history::kMaxResends ||
        stored.state() == static_cast<int32_t>(DeliveryState::kCancelled)) {
      continue;
    }
    ours.push_back(id);
  }
  return history::PendingReceiptWrites(store, sender, history::kResendOwnMessages, ours);
}

// What one decrypted plaintext did.
struct Outcome {
  // A message stored (a contact's, or our own from its transcript).
  std::optional<StoredMessage> stored;
  // A receipt, applied to these of our messages.
  bool is_receipt = false;
  std::vector<StoredMessage> receipted;
  // The stored message's delivery receipt is to be queued with the page's.
  bool receipt_due = false;
  // From another device of our own account (sent transcript, read state).
  bool from_own_device = false;
  // A message sent again on our request that this device has after all:
  // nothing stored.
  bool already_had = false;
};

// The writes for a decrypted plaintext: a message stored, a receipt applied
// to our messages, or what another device of ours synced.
absl::StatusOr<std::vector<Write>> WritesFor(ProfileSession& session, const v1::Envelope& envelope,
                                             absl::string_view plaintext, Outcome& outcome)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  storage::LocalStore& store = session.store();
  absl::StatusOr<Content> content = content::DecodeContent(plaintext);
  if (envelope.sender() == session.profile().handle()) {
    // Our own devices sync; they never write to us. Anything else from
    // them (or content that does not decode) is acknowledged and dropped.
    outcome.from_own_device = true;
    if (!content.ok()) return std::vector<Write>();
    return OwnSyncWrites(store, envelope, *content, outcome.stored);
  }
  if (content.ok() && content->has_receipt()) {
    outcome.is_receipt = true;
    if (content->receipt().type() == Receipt::RESEND) {
      return ResendRequestWrites(store, envelope.sender(), content->receipt());
    }
    return history::ReceiptWrites(store, envelope.sender(), content->receipt(),
                                  &outcome.receipted);
  }
  // A message sent again on request keeps its first id, so its receipts
  // reach the sender's copy; a device that has it already stores nothing.
  std::string message_id = envelope.message_id();
  if (content.ok() && !content->resend_of().empty()) {
    SOTTO_ASSIGN_OR_RETURN(auto have, history::LoadById(store, content->resend_of()));
    if (have) {
      outcome.already_had = true;
      return std::vector<Write>();
    }
    message_id = content->resend_of();
  }
  StoredMessage& stored = outcome.stored.emplace();
  Content shown;
  if (content.ok() && (content->has_text() || content->has_letter())) {
    shown = std::move(*content);
    shown.clear_resend_of();  // stored under that id; the history needs no more
  } else {
    // It decrypted, so it did come from the sender's device; dropping it
    // would leave the user unaware that anything arrived.
    if (content.ok()) shown.set_sent_at_ms(content->sent_at_ms());
    shown.mutable_text()->set_body(kUnreadableText);
  }
  stored.set_message_id(message_id);
  stored.set_peer(envelope.sender());
  stored.set_peer_device(envelope.sender_device());
  stored.set_outgoing(false);
  stored.set_server_time_ms(envelope.server_time_ms());
  *stored.mutable_content() = std::move(shown);
  SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes, history::HistoryWrites(store, stored));
  outcome.receipt_due = message_id.size() == content::kMessageIdBytes;
  return writes;
}

// An envelope the engine refused because of the sender's identity key: held
// on the server (not acknowledged) until the user accepts the key — whether
// or not the contact was verified.
absl::StatusOr<bool> HandleUntrusted(ProfileSession& session, const v1::Envelope& envelope,
                                     const absl::Status& refusal, SyncStats& stats)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  const absl::Status held = HoldIdentityChange(session, envelope.sender(), refusal);
  if (held.code() != absl::StatusCode::kFailedPrecondition) return held;  // our store
  ++stats.held;
  const std::string& sender = envelope.sender();
  if (std::find(stats.held_from.begin(), stats.held_from.end(), sender) == stats.held_from.end()) {
    stats.held_from.push_back(sender);
    std::sort(stats.held_from.begin(), stats.held_from.end());
    stats.notices.push_back(
        IdentityNotice{sender, IdentityNotice::Kind::kHeld, std::string(held.message())});
  }
  return false;
}

// An envelope dropped as unreadable: counted, and its sender named once so
// that the user knows whose messages are missing.
void CountUnreadable(const v1::Envelope& envelope, SyncStats& stats) {
  ++stats.undecryptable;
  std::vector<std::string>& from = stats.unreadable_from;
  if (std::find(from.begin(), from.end(), envelope.sender()) == from.end()) {
    from.push_back(envelope.sender());
    std::sort(from.begin(), from.end());
  }
}

absl::StatusOr<bool> Process(ProfileSession& session, const v1::Envelope& envelope,
                             SyncStats& stats, std::vector<ListenEvent>* shown,
                             PageReceipts& receipts) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  if (envelope.type() != v1::ENVELOPE_TYPE_PREKEY &&
      envelope.type() != v1::ENVELOPE_TYPE_CIPHERTEXT) {
    CountUnreadable(envelope, stats);
    return true;
  }
  signal::Address from{envelope.sender(), envelope.sender_device()};
  signal::Ciphertext ciphertext{envelope.type() == v1::ENVELOPE_TYPE_PREKEY
                                    ? signal::MessageType::kPreKey
                                    : signal::MessageType::kCiphertext,
                                envelope.ciphertext()};
  // Nothing from our own handle is trusted before our own key is pinned
  // for it: never trust on first use there (own_devices.h).
  if (envelope.sender() == session.profile().handle()) SOTTO_RETURN_IF_ERROR(PinOwnKey(session));
  Outcome outcome;
  // Runs inside the decryption: its writes commit with the session state,
  // so a message is stored, its delivery receipt queued and (for a
  // receipt) our messages' states updated exactly once. If it fails (our
  // store), the engine stores nothing and the envelope stays queued.
  absl::Status handler_error;
  auto on_plaintext = [&](absl::string_view plaintext) -> absl::StatusOr<std::vector<Write>> {
    session.mu.AssertHeld();
    absl::StatusOr<std::vector<Write>> writes = WritesFor(session, envelope, plaintext, outcome);
    if (!writes.ok()) handler_error = writes.status();
    return writes;
  };
  absl::StatusOr<std::string> plaintext = session.engine().Decrypt(from, ciphertext, on_plaintext);
  // Stored (sealed) by now, or refused: the decrypted bytes are not needed.
  if (plaintext.ok()) storage::Wipe(*plaintext);
  // Our own failure, whatever its code: keep the envelope queued.
  if (!handler_error.ok()) return handler_error;
  if (plaintext.ok()) {
    if (outcome.already_had) {
      ++stats.duplicates;
      return true;
    }
    if (outcome.receipt_due) {
      receipts[envelope.sender()].push_back(outcome.stored->message_id());
    }
    if (outcome.from_own_device) {
      // A new transcript shows as our message; read and cancel syncs only
      // change what ReadConversation shows.
      if (outcome.stored) {
        ++stats.transcripts;
        if (shown) shown->push_back(history::ToMessage(*outcome.stored, session.NowMs()));
      }
    } else if (!outcome.is_receipt) {
      ++stats.received;
      if (shown) shown->push_back(history::ToMessage(*outcome.stored, session.NowMs()));
    } else if (shown) {
      for (const StoredMessage& moved : outcome.receipted) {
        Message message = history::ToMessage(moved, session.NowMs());
        ReceiptEvent event{message.id, message.peer, message.state, std::move(message)};
        shown->push_back(std::move(event));
      }
    }
    return true;
  }
  switch (plaintext.status().code()) {
    case absl::StatusCode::kAlreadyExists:
      ++stats.duplicates;
      return true;
    case absl::StatusCode::kFailedPrecondition: {
      // A notice is added once per sender and sync: shown when it is new.
      const size_t known = stats.notices.size();
      absl::StatusOr<bool> ack = HandleUntrusted(session, envelope, plaintext.status(), stats);
      for (size_t i = known; shown && i < stats.notices.size(); ++i) {
        shown->push_back(stats.notices[i]);
      }
      return ack;
    }
    // Caused by the peer (or a forger): bad MAC, malformed, a prekey we no
    // longer have, no session. The engine reports failures of our own
    // store as INTERNAL or UNAVAILABLE, which land below.
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss: {
      CountUnreadable(envelope, stats);
      // Most likely a session this device lost (restored from a backup):
      // its sender's app is asked to send it again through a new one. (Our
      // own devices' syncs are not asked for: only a contact resends.)
      if (envelope.message_id().size() != content::kMessageIdBytes ||
          envelope.sender() == session.profile().handle()) {
        return true;
      }
      SOTTO_RETURN_IF_ERROR(session.store().Apply(history::PendingReceiptWrites(
          session.store(), envelope.sender(), Receipt::RESEND, {envelope.message_id()})));
      ++stats.asked_again;
      return true;
    }
    default:
      return plaintext.status();
  }
}

}  // namespace

absl::StatusOr<bool> ProcessEnvelope(ProfileSession& session, const v1::Envelope& envelope,
                                     SyncStats& stats, std::vector<ListenEvent>* shown,
                                     PageReceipts& receipts) {
  // The server stamps the sender, and a breached one could stamp anything: a
  // sender that is not a handle is no account, so the envelope is dropped
  // (acknowledged, counted as undecryptable) before its name can reach the
  // history, a receipt, the trust store or the app.
  if (!CheckServerHandle("envelope.sender", envelope.sender()).ok()) {
    ++stats.undecryptable;
    return true;
  }
  return Process(session, envelope, stats, shown, receipts);
}

absl::Status QueueReceipts(ProfileSession& session, PageReceipts& receipts) {
  std::vector<Write> writes;
  for (const auto& [peer, ids] : receipts) {
    for (Write& w : history::PendingReceiptWrites(session.store(), peer, Receipt::DELIVERED, ids)) {
      writes.push_back(std::move(w));
    }
  }
  receipts.clear();
  return writes.empty() ? absl::OkStatus() : session.store().Apply(writes);
}

}  // namespace sotto::client
