#include "client-lib/outgoing/sender.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client-lib/content/codec.h"
#include "client-lib/convert/wire_types.h"
#include "client-lib/history/delivery_state.h"
#include "client-lib/history/drafts.h"
#include "client-lib/history/history_book.h"
#include "client-lib/outgoing/delivery.h"
#include "client-lib/profile/handle.h"
#include "client-lib/storage/deferred_sync.h"
#include "sotto/status_macros.h"
#include "sotto/status_text.h"

namespace sotto::client {
namespace {

using history::LoadProto;
using storage::Space;
using storage::Write;

bool Unreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// The send-later time in Unix ms (0: now). INVALID_ARGUMENT for a time
// that never comes.
absl::StatusOr<int64_t> DeliverAtMs(const SendOptions& options, absl::Time now) {
  if (options.deliver_at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("deliver_at must be a finite time");
  }
  if (options.deliver_at != absl::InfinitePast() && options.deliver_at > now) {
    return absl::ToUnixMillis(options.deliver_at);
  }
  return 0;
}

// What a recorded message's delivery starts from.
Delivery DeliveryFor(const std::string& message_id, const StoredMessage& stored,
                     const UnsentMessage& unsent) {
  Delivery delivery;
  delivery.header = {stored.peer(), message_id, /*receipt=*/false, unsent.deliver_at_ms()};
  delivery.plaintext = content::EncodeContent(stored.content());
  return delivery;
}

// The sent transcript of an accepted message, for the account's other
// devices.
v1::content::Content TranscriptOf(const std::string& message_id, const StoredMessage& stored,
                                  const v1::SendResponse& response, int64_t now_ms) {
  v1::content::Content out;
  out.set_sent_at_ms(now_ms);
  v1::content::SentTranscript* t = out.mutable_sent_transcript();
  t->set_recipient(stored.peer());
  t->set_message_id(message_id);
  t->set_server_time_ms(response.server_time_ms());
  t->set_deliver_at_ms(response.deliver_at_ms());
  *t->mutable_message() = stored.content();
  return out;
}

}  // namespace

bool WorthRetrying(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      // A profile locked while the send was on its way.
      return absl::StartsWith(status.message(), "locked:");
  }
}

absl::StatusOr<SendResult> Sender::Send(absl::string_view to, std::string message_id,
                                        v1::content::Content content, const SendOptions& options) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(to));
  if (to == session_.profile().handle()) {
    return absl::InvalidArgumentError("you cannot send a message to yourself");
  }
  content.set_sent_at_ms(session_.NowMs());
  SOTTO_RETURN_IF_ERROR(content::ValidateContent(content));
  SOTTO_ASSIGN_OR_RETURN(int64_t deliver_at_ms, DeliverAtMs(options, session_.Now()));
  SOTTO_RETURN_IF_ERROR(session_.Check());

  // What waited from before goes first; its failure is reported when its
  // own turn comes (and an unreachable server fails this one too).
  RetryUnsent(/*include_failed=*/false).IgnoreError();

  Pending pending{message_id, ""};
  Delivery delivery;
  UnsentMessage unsent;
  absl::Status failure;
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(session_.Enter());
    storage::LocalStore& store = session_.store();
    StoredMessage stored;
    stored.set_message_id(message_id);
    stored.set_peer(std::string(to));
    stored.set_outgoing(true);
    stored.set_server_time_ms(session_.NowMs());
    stored.set_state(static_cast<int32_t>(DeliveryState::kNotSent));
    *stored.mutable_content() = std::move(content);
    SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes,
                           history::HistoryWrites(store, stored, &pending.history_key));
    unsent.set_history_key(pending.history_key);
    unsent.set_deliver_at_ms(deliver_at_ms);
    unsent.set_message_id(message_id);
    writes.push_back(Write{Space::kUnsent, history::MessageIdKey(store, message_id),
                           unsent.SerializeAsString()});
    // Synced with the encryption, before anything of it leaves, or by
    // RecordFailure's write when it cannot go: one disk sync per message, not
    // two. When sessions with `to` exist (every send but a conversation's
    // first), the encryption joins this span, so the record, the new session
    // state and the recorded request are one batch of the store, and the
    // attempt need not read the record back (issue 21: three batches a send
    // were 21% of a sending loop's CPU).
    storage::DeferredSync later(store);
    SOTTO_RETURN_IF_ERROR(store.Apply(writes));
    delivery = DeliveryFor(message_id, stored, unsent);
    delivery.on_encrypted = KeepRequest(message_id, unsent);
    absl::StatusOr<std::optional<v1::SendRequest>> prepared =
        EncryptWithExistingSessions(session_, delivery);
    SOTTO_RETURN_IF_ERROR(later.Release());
    in_flight_.insert(message_id);
    if (!prepared.ok()) {
      failure = prepared.status();
    } else if (*prepared) {
      // On disk before the ciphertext leaves, shared with other senders.
      failure = session_.CommitStore();
      if (failure.ok()) delivery.prepared = std::move(**prepared);
    }
  }
  absl::StatusOr<SendResult> result =
      RecordOutcome(pending, /*keep_refused=*/false,
                    failure.ok() ? Deliver(session_, std::move(delivery))
                                 : absl::StatusOr<v1::SendResponse>(failure));
  if (!options.draft_id.empty()) DropDraft(options.draft_id, message_id, result.ok());
  // Its transcript, queued with the record's update, goes to our other
  // devices now (a failure leaves it queued for the next sync).
  if (result.ok()) own_devices_.Flush();
  return result;
}

void Sender::DropDraft(const std::string& draft_id, const std::string& message_id, bool sent) {
  absl::MutexLock lock(&session_.mu);
  if (!session_.Enter().ok()) return;
  storage::LocalStore& store = session_.store();
  if (!sent) {
    absl::StatusOr<std::optional<std::string>> kept =
        store.Get(Space::kMessageIndex, history::MessageIdKey(store, message_id));
    if (!kept.ok() || !*kept) return;
  }
  // NOT_FOUND (no such draft, or deleted meanwhile) is what we wanted.
  history::DeleteDraft(store, draft_id).IgnoreError();
}

absl::StatusOr<SendResult> Sender::Attempt(const Pending& pending, bool keep_refused) {
  Delivery delivery;
  UnsentMessage unsent;
  {
    absl::MutexLock lock(&session_.mu);
    absl::Status usable = session_.CheckNotLocked();
    std::optional<StoredMessage> stored;
    if (usable.ok()) {
      absl::StatusOr<std::optional<UnsentMessage>> record =
          LoadProto<UnsentMessage>(session_.store(), Space::kUnsent,
                                   history::MessageIdKey(session_.store(), pending.message_id));
      absl::StatusOr<std::optional<StoredMessage>> message =
          LoadProto<StoredMessage>(session_.store(), Space::kHistory, pending.history_key);
      usable = !record.ok() ? record.status() : message.status();
      if (usable.ok() && (!*record || !*message)) {
        usable = absl::NotFoundError("the message is no longer waiting to be sent");
      }
      if (usable.ok()) {
        unsent = std::move(**record);
        stored = std::move(**message);
      }
    }
    if (!usable.ok()) {
      ReleaseKept(pending.message_id);
      return usable;
    }
    delivery = DeliveryFor(pending.message_id, *stored, unsent);
    if (!unsent.request().empty()) {
      v1::SendRequest prepared;
      if (prepared.ParseFromString(unsent.request())) delivery.prepared = std::move(prepared);
    }
    delivery.on_encrypted = KeepRequest(pending.message_id, unsent);
  }
  return RecordOutcome(pending, keep_refused, Deliver(session_, std::move(delivery)));
}

std::function<absl::Status(const v1::SendRequest&)> Sender::KeepRequest(
    const std::string& message_id, UnsentMessage& unsent) {
  // Kept with the message before it leaves: a retry sends these bytes.
  return [this, message_id, &unsent](const v1::SendRequest& request) {
    session_.mu.AssertHeld();
    unsent.set_request(request.SerializeAsString());
    return session_.store().Apply(
        {Write{Space::kUnsent, history::MessageIdKey(session_.store(), message_id),
               unsent.SerializeAsString()}});
  };
}

absl::StatusOr<SendResult> Sender::RecordOutcome(const Pending& pending, bool keep_refused,
                                                 const absl::StatusOr<v1::SendResponse>& response) {
  absl::MutexLock lock(&session_.mu);
  if (response.ok() && session_.CheckNotLocked().ok()) {
    absl::StatusOr<SendResult> accepted = RecordAccepted(pending, *response);
    if (accepted.ok()) {
      in_flight_.erase(pending.message_id);
    } else {
      ReleaseKept(pending.message_id);
    }
    return accepted;
  }
  // Whatever happens next, the record may stay for a retry.
  ReleaseKept(pending.message_id);
  SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
  SOTTO_RETURN_IF_ERROR(RecordFailure(pending, response.status(), keep_refused));
  if (!WorthRetrying(response.status()) && !keep_refused) return response.status();
  return AppendToMessage(
      response.status(),
      WorthRetrying(response.status())
          ? "; the message is kept as not sent and goes with the next send or sync"
          : "; the message is kept in the conversation, marked not sent");
}

absl::StatusOr<SendResult> Sender::RecordAccepted(const Pending& pending,
                                                  const v1::SendResponse& response) {
  storage::LocalStore& store = session_.store();
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         LoadProto<StoredMessage>(store, Space::kHistory, pending.history_key));
  if (!stored) return absl::DataLossError("a message being sent vanished from the history");
  // The server's word decides whether it is held: one that does not know
  // send-later delivers at once.
  const bool scheduled = response.deliver_at_ms() > 0;
  stored->set_server_time_ms(scheduled ? response.deliver_at_ms() : response.server_time_ms());
  stored->set_state(static_cast<int32_t>(
      history::AfterAccepted(history::StoredState(stored->state()), scheduled)));
  stored->clear_failure();
  SOTTO_ASSIGN_OR_RETURN(Write summary, history::ShowInSummaryWrite(store, *stored));
  std::vector<Write> writes{
      Write{Space::kHistory, pending.history_key, stored->SerializeAsString()},
      Write{Space::kUnsent, history::MessageIdKey(store, pending.message_id), std::nullopt},
      std::move(summary),
  };
  if (OwnDevices::MayHaveOthers(session_)) {
    writes.push_back(OwnDevices::QueueWrite(
        session_.NowMs(), TranscriptOf(pending.message_id, *stored, response, session_.NowMs())));
  }
  // Not synced on its own: lost to a power failure, the message is not sent
  // again with the same id and bytes, which the server and the recipient
  // recognise (the next sync of the disk makes it durable).
  storage::DeferredSync later(store);
  SOTTO_RETURN_IF_ERROR(store.Apply(writes));
  SOTTO_RETURN_IF_ERROR(later.Release());
  return SendResult{history::ToMessage(*stored, session_.NowMs()), ToExpectation(response), {}};
}

absl::Status Sender::RecordFailure(const Pending& pending, const absl::Status& failure,
                                   bool keep_refused) {
  storage::LocalStore& store = session_.store();
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         LoadProto<StoredMessage>(store, Space::kHistory, pending.history_key));
  if (!stored) return absl::OkStatus();
  if (!WorthRetrying(failure) && !keep_refused) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<Write> writes,
                           history::ForgetWrites(store, pending.history_key, *stored));
    writes.push_back(
        Write{Space::kUnsent, history::MessageIdKey(store, pending.message_id), std::nullopt});
    return store.Apply(writes);
  }
  stored->set_state(static_cast<int32_t>(WorthRetrying(failure) ? DeliveryState::kNotSent
                                                                : DeliveryState::kFailed));
  stored->set_failure(std::string(failure.message()));
  return store.Apply({Write{Space::kHistory, pending.history_key, stored->SerializeAsString()}});
}

void Sender::ReleaseKept(const std::string& message_id) {
  in_flight_.erase(message_id);
  may_hold_not_sent_ = true;
  may_hold_failed_ = true;
}

absl::StatusOr<std::vector<Sender::Pending>> Sender::Waiting(bool include_failed) {
  absl::MutexLock lock(&session_.mu);
  SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
  if (!may_hold_not_sent_ && !(include_failed && may_hold_failed_)) return std::vector<Pending>();
  storage::LocalStore& store = session_.store();
  SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kUnsent, ""));
  std::vector<std::pair<uint64_t, Pending>> found;
  bool skipped_failed = false;
  for (const storage::Entry& entry : entries) {
    UnsentMessage unsent;
    if (!unsent.ParseFromString(entry.value)) continue;
    // The key is the blinded id; the id itself is in the record.
    if (in_flight_.contains(unsent.message_id())) continue;
    SOTTO_ASSIGN_OR_RETURN(auto stored,
                           LoadProto<StoredMessage>(store, Space::kHistory, unsent.history_key()));
    if (!stored) continue;
    const DeliveryState state = history::StoredState(stored->state());
    if (state == DeliveryState::kCancelled) continue;
    if (state == DeliveryState::kFailed && !include_failed) {
      skipped_failed = true;
      continue;
    }
    found.push_back({stored->local_seq(), Pending{unsent.message_id(), unsent.history_key()}});
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Everything found is claimed now; what is left unclaimed is a kFailed
  // message this call did not want (or one that can never go).
  may_hold_not_sent_ = false;
  may_hold_failed_ = skipped_failed;
  std::vector<Pending> out;
  for (auto& [seq, pending] : found) {
    in_flight_.insert(pending.message_id);
    out.push_back(std::move(pending));
  }
  return out;
}

absl::StatusOr<int> Sender::RetryUnsent(bool include_failed) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<Pending> waiting, Waiting(include_failed));
  int sent = 0;
  absl::Status first_error;
  for (const Pending& pending : waiting) {
    if (Unreachable(first_error)) {
      // The server will not answer the next one either; release the claim.
      absl::MutexLock lock(&session_.mu);
      ReleaseKept(pending.message_id);
      continue;
    }
    absl::StatusOr<SendResult> result = Attempt(pending, /*keep_refused=*/true);
    if (result.ok()) {
      ++sent;
    } else if (first_error.ok()) {
      first_error = result.status();
    }
  }
  if (sent > 0) own_devices_.Flush();
  if (!first_error.ok()) return first_error;
  return sent;
}

absl::Status Sender::Cancel(absl::string_view id_prefix) {
  std::string history_key;
  std::string message_id;
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(session_.Enter());
    storage::LocalStore& store = session_.store();
    SOTTO_ASSIGN_OR_RETURN(auto found, history::FindMessage(store, id_prefix));
    auto& [key, stored] = found;
    const std::string hex = absl::BytesToHexString(stored.message_id());
    if (!stored.outgoing()) {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", hex, " was sent to you; only the sender can cancel it"));
    }
    const DeliveryState state = history::StoredState(stored.state());
    if (state == DeliveryState::kNotSent || state == DeliveryState::kFailed) {
      if (in_flight_.contains(stored.message_id())) {
        return absl::FailedPreconditionError(
            absl::StrCat("message ", hex, " is being sent right now; try again in a moment"));
      }
      // Never reached the server: discarding it is local.
      stored.set_state(static_cast<int32_t>(DeliveryState::kCancelled));
      std::vector<Write> writes{
          Write{Space::kHistory, key, stored.SerializeAsString()},
          Write{Space::kUnsent, history::MessageIdKey(store, stored.message_id()), std::nullopt}};
      SOTTO_ASSIGN_OR_RETURN(Write summary,
                             history::RefreshSummaryWrite(store, stored.peer(), writes));
      writes.push_back(std::move(summary));
      return store.Apply(writes);
    }
    if (state != DeliveryState::kScheduled) {
      return absl::NotFoundError(absl::StrCat("message ", hex, " is not scheduled"));
    }
    if (stored.from_device() != 0) {
      // The server holds it for the device that sent it, and cancels it
      // only for that device.
      return absl::FailedPreconditionError(absl::StrCat(
          "message ", hex, " was scheduled from device ", stored.from_device(),
          " of this account; cancel it there (that device tells this one)"));
    }
    history_key = key;
    message_id = stored.message_id();
  }
  SOTTO_RETURN_IF_ERROR(session_.connection().CancelScheduled(message_id));
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
    storage::LocalStore& store = session_.store();
    SOTTO_ASSIGN_OR_RETURN(auto stored,
                           LoadProto<StoredMessage>(store, Space::kHistory, history_key));
    if (!stored) return absl::DataLossError("a cancelled message vanished from the history");
    stored->set_state(static_cast<int32_t>(DeliveryState::kCancelled));
    std::vector<Write> writes{Write{Space::kHistory, history_key, stored->SerializeAsString()}};
    SOTTO_ASSIGN_OR_RETURN(Write summary,
                           history::RefreshSummaryWrite(store, stored->peer(), writes));
    writes.push_back(std::move(summary));
    if (OwnDevices::MayHaveOthers(session_)) {
      // Our other devices show its transcript as scheduled until told.
      v1::content::Content cancelled;
      cancelled.set_sent_at_ms(session_.NowMs());
      cancelled.mutable_cancel_sync()->set_recipient(stored->peer());
      cancelled.mutable_cancel_sync()->set_message_id(message_id);
      writes.push_back(OwnDevices::QueueWrite(session_.NowMs(), cancelled));
    }
    SOTTO_RETURN_IF_ERROR(store.Apply(writes));
  }
  own_devices_.Flush();
  return absl::OkStatus();
}

}  // namespace sotto::client
