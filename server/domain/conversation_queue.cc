#include "server/domain/conversation_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr uint32_t State(ConversationState s) { return static_cast<uint32_t>(s); }

absl::Status TherapistOnly(const AuthenticatedDevice& caller) {
  if (caller.role == Role::kTherapist) return absl::OkStatus();
  return absl::PermissionDeniedError("only a therapist has a queue");
}

}  // namespace

ConversationQueue::ConversationQueue(Store* store, Care* care, Clock* clock)
    : store_(store), care_(care), clock_(clock) {}

std::unique_ptr<StripedLock> ConversationQueue::LockClient(absl::string_view client) {
  return std::make_unique<StripedLock>(client_locks_,
                                       std::vector<std::string>{std::string(client)});
}

absl::Status ConversationQueue::ExpectLinkAsRead(const Route& route, WriteBatch& batch) {
  // A conversation's first entry has no entry to expect, and EndLink (which
  // expects the entry as read, absent too) may end the link between this
  // Send's read of it and its write. The link row is what EndLink changes:
  // expecting it as the Send's routing read it (not read again here: the
  // end may have landed since), a Send that saw an active link before an
  // end through another node is ABORTED, and its retry is refused.
  if (!route.link_read) return absl::InternalError("a care route without its link row");
  batch.Expect(Table::kLinks, keys::Pair(route.therapist, route.client), *route.link_read);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ConversationQueue::AddMessageInto(const Route& route, int64_t now_ms,
                                                          WriteBatch& batch) {
  if (!route.between_care_parties) return 0;
  if (route.from_client) {
    SOTTO_ASSIGN_OR_RETURN(
        std::optional<std::string> value,
        store_->Get(Table::kConversations, keys::Pair(route.therapist, route.client)));
    return AddClientMessageInto(route, now_ms, std::move(value), batch);
  }
  SOTTO_ASSIGN_OR_RETURN(std::vector<std::string> team, care_->CareTeam(route.client));
  if (std::find(team.begin(), team.end(), route.therapist) == team.end()) {
    team.push_back(route.therapist);
  }
  for (const std::string& therapist : team) {
    std::string key = keys::Pair(therapist, route.client);
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           store_->Get(Table::kConversations, key));
    const bool sender = therapist == route.therapist;
    if (!value && !sender) continue;
    if (!value) SOTTO_RETURN_IF_ERROR(ExpectLinkAsRead(route, batch));
    records::Conversation entry;
    if (value) {
      SOTTO_ASSIGN_OR_RETURN(entry, records::DecodeConversation(*value));
    }
    entry.state = State(ConversationState::kAnswered);
    entry.waiting_count = 0;
    entry.oldest_waiting_ms = 0;
    entry.snoozed_until_ms = 0;
    entry.claimed_by.clear();
    if (sender) entry.last_reply_ms = now_ms;
    batch.Expect(Table::kConversations, key, std::move(value));
    batch.Put(Table::kConversations, std::move(key), records::Encode(entry));
  }
  return 0;
}

size_t ConversationQueue::AddClientEntryRead(const Route& route, ReadBatch& batch) {
  return batch.Get(Table::kConversations, keys::Pair(route.therapist, route.client));
}

absl::StatusOr<int64_t> ConversationQueue::AddClientMessageInto(const Route& route,
                                                                int64_t now_ms,
                                                                std::optional<std::string> stored,
                                                                WriteBatch& batch) {
  std::string key = keys::Pair(route.therapist, route.client);
  records::Conversation entry;
  if (stored) {
    SOTTO_ASSIGN_OR_RETURN(entry, records::DecodeConversation(*stored));
  }
  entry.state = State(ConversationState::kWaiting);
  entry.snoozed_until_ms = 0;
  entry.waiting_count += 1;
  entry.oldest_waiting_ms =
      entry.oldest_waiting_ms == 0 ? now_ms : std::min(entry.oldest_waiting_ms, now_ms);
  // Another node's Send into this conversation since the read: ABORTED,
  // and the Send runs again (Mailbox::SendSteps).
  if (!stored) SOTTO_RETURN_IF_ERROR(ExpectLinkAsRead(route, batch));
  batch.Expect(Table::kConversations, key, std::move(stored));
  batch.Put(Table::kConversations, std::move(key), records::Encode(entry));
  return entry.oldest_waiting_ms;
}

absl::StatusOr<Conversation> ConversationQueue::View(absl::string_view client,
                                                     const records::Conversation& stored,
                                                     const ResponsePolicy& policy, int64_t now_ms) {
  Conversation c;
  c.client = std::string(client);
  c.state = static_cast<ConversationState>(stored.state);
  c.oldest_waiting_ms = stored.oldest_waiting_ms;
  c.waiting_count = stored.waiting_count;
  c.last_reply_ms = stored.last_reply_ms;
  c.snoozed_until_ms = stored.snoozed_until_ms;
  c.claimed_by = stored.claimed_by;
  if (c.state == ConversationState::kSnoozed && stored.snoozed_until_ms <= now_ms) {
    c.state = ConversationState::kWaiting;
  }
  if (c.state == ConversationState::kWaiting && c.oldest_waiting_ms > 0) {
    SOTTO_ASSIGN_OR_RETURN(c.due_ms, ReplyDueMs(policy, c.oldest_waiting_ms));
    c.overdue = now_ms > c.due_ms;
  }
  return c;
}

absl::StatusOr<QueueList> ConversationQueue::List(const AuthenticatedDevice& caller,
                                                  bool include_all) {
  SOTTO_RETURN_IF_ERROR(TherapistOnly(caller));
  QueueList list;
  list.now_ms = clock_->NowMillis();
  SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, care_->PolicyOf(caller.handle));
  SOTTO_ASSIGN_OR_RETURN(
      std::vector<KeyValue> rows,
      store_->Scan(Table::kConversations, keys::UserPrefix(caller.handle), "", kMaxLinksPerUser));
  for (const KeyValue& row : rows) {
    std::optional<std::string> client = keys::SecondOfPair(row.key);
    if (!client) return records::Corrupt("conversation key");
    SOTTO_ASSIGN_OR_RETURN(records::Conversation stored, records::DecodeConversation(row.value));
    SOTTO_ASSIGN_OR_RETURN(Conversation c, View(*client, stored, policy, list.now_ms));
    if (include_all || c.state == ConversationState::kWaiting) list.entries.push_back(std::move(c));
  }
  if (!include_all) {
    std::stable_sort(list.entries.begin(), list.entries.end(),
                     [](const Conversation& a, const Conversation& b) {
                       return a.oldest_waiting_ms < b.oldest_waiting_ms;
                     });
  }
  return list;
}

absl::StatusOr<ConversationQueue::Loaded> ConversationQueue::Load(
    const AuthenticatedDevice& caller, absl::string_view client) {
  absl::Status valid = Accounts::ValidateHandle(client);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("client: ", valid.message()));
  }
  SOTTO_RETURN_IF_ERROR(TherapistOnly(caller));
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kConversations, keys::Pair(caller.handle, client)));
  if (!value) {
    return absl::NotFoundError(
        absl::StrCat("no conversation with ", client, " in ", caller.handle, "'s queue"));
  }
  SOTTO_ASSIGN_OR_RETURN(records::Conversation entry, records::DecodeConversation(*value));
  return Loaded{std::move(entry), *std::move(value)};
}

absl::StatusOr<Conversation> ConversationQueue::Save(const AuthenticatedDevice& caller,
                                                     absl::string_view client,
                                                     const records::Conversation& entry,
                                                     std::string read) {
  WriteBatch batch;
  batch.Expect(Table::kConversations, keys::Pair(caller.handle, client), std::move(read));
  batch.Put(Table::kConversations, keys::Pair(caller.handle, client), records::Encode(entry));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
  SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, care_->PolicyOf(caller.handle));
  return View(client, entry, policy, clock_->NowMillis());
}

absl::StatusOr<Conversation> ConversationQueue::LockedThenSynced(
    absl::string_view client, absl::FunctionRef<absl::StatusOr<Conversation>()> locked) {
  absl::StatusOr<Conversation> result;
  {
    auto lock = LockClient(client);
    result = RetryAborted("the conversation's change", locked);
  }
  if (!result.ok()) return result;
  SOTTO_RETURN_IF_ERROR(store_->SyncLog());
  return result;
}

absl::StatusOr<Conversation> ConversationQueue::Snooze(const AuthenticatedDevice& caller,
                                                       absl::string_view client, int64_t until_ms) {
  const int64_t now = clock_->NowMillis();
  if (until_ms <= now || until_ms - now > kMaxSnoozeAheadMs) {
    return absl::InvalidArgumentError(absl::StrCat("until_ms must be in the future and at most ",
                                                   kMaxSnoozeAheadMs / 86400000, " days ahead"));
  }
  return LockedThenSynced(client, [&]() -> absl::StatusOr<Conversation> {
    SOTTO_ASSIGN_OR_RETURN(Loaded loaded, Load(caller, client));
    records::Conversation& entry = loaded.entry;
    const bool waiting = entry.state == State(ConversationState::kWaiting) ||
                         entry.state == State(ConversationState::kSnoozed);
    if (!waiting) {
      return absl::FailedPreconditionError(
          absl::StrCat("the conversation with ", client, " is not waiting"));
    }
    entry.state = State(ConversationState::kSnoozed);
    entry.snoozed_until_ms = until_ms;
    return Save(caller, client, entry, std::move(loaded.read));
  });
}

absl::StatusOr<Conversation> ConversationQueue::Close(const AuthenticatedDevice& caller,
                                                      absl::string_view client) {
  return LockedThenSynced(client, [&]() -> absl::StatusOr<Conversation> {
    SOTTO_ASSIGN_OR_RETURN(Loaded loaded, Load(caller, client));
    records::Conversation& entry = loaded.entry;
    entry.state = State(ConversationState::kClosed);
    entry.waiting_count = 0;
    entry.oldest_waiting_ms = 0;
    entry.snoozed_until_ms = 0;
    entry.claimed_by.clear();
    return Save(caller, client, entry, std::move(loaded.read));
  });
}

absl::StatusOr<Conversation> ConversationQueue::Claim(const AuthenticatedDevice& caller,
                                                      absl::string_view client) {
  return LockedThenSynced(client, [&]() -> absl::StatusOr<Conversation> {
    SOTTO_ASSIGN_OR_RETURN(Loaded loaded, Load(caller, client));
    records::Conversation& entry = loaded.entry;
    const int64_t now = clock_->NowMillis();
    const bool waiting =
        entry.state == State(ConversationState::kWaiting) ||
        (entry.state == State(ConversationState::kSnoozed) && entry.snoozed_until_ms <= now);
    if (!waiting) {
      return absl::FailedPreconditionError(
          absl::StrCat("the conversation with ", client, " is not waiting"));
    }
    SOTTO_ASSIGN_OR_RETURN(std::vector<std::string> team, care_->CareTeam(client));
    WriteBatch batch;
    for (const std::string& therapist : team) {
      std::string key = keys::Pair(therapist, client);
      SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             store_->Get(Table::kConversations, key));
      if (!value) continue;
      SOTTO_ASSIGN_OR_RETURN(records::Conversation other, records::DecodeConversation(*value));
      if (!other.claimed_by.empty() && other.claimed_by != caller.handle) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the conversation with ", client, " is already claimed by ", other.claimed_by));
      }
      if (therapist == caller.handle) continue;
      other.claimed_by = caller.handle;
      // Claimed through another node meanwhile: ABORTED, read again.
      batch.Expect(Table::kConversations, key, std::move(value));
      batch.Put(Table::kConversations, std::move(key), records::Encode(other));
    }
    entry.claimed_by = caller.handle;
    batch.Expect(Table::kConversations, keys::Pair(caller.handle, client), std::move(loaded.read));
    batch.Put(Table::kConversations, keys::Pair(caller.handle, client), records::Encode(entry));
    SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
    SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, care_->PolicyOf(caller.handle));
    return View(client, entry, policy, now);
  });
}

absl::StatusOr<ReplyExpectation> ConversationQueue::Expect(absl::string_view therapist,
                                                           int64_t start_ms, int64_t now_ms) {
  SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, care_->PolicyOf(therapist));
  return ExpectWith(policy, start_ms, now_ms);
}

absl::StatusOr<ReplyExpectation> ConversationQueue::ExpectWith(const ResponsePolicy& policy,
                                                               int64_t start_ms, int64_t now_ms) {
  ReplyExpectation e;
  SOTTO_ASSIGN_OR_RETURN(e.due_ms, ReplyDueMs(policy, start_ms));
  e.reply_window_minutes = static_cast<uint32_t>(policy.reply_window_minutes);
  e.emergency_note = care_->emergency_note();
  const bool away = policy.away_until_ms > now_ms && policy.away_from_ms <= e.due_ms &&
                    policy.away_until_ms > policy.away_from_ms;
  if (away) {
    e.away_note = policy.away_note;
    e.away_until_ms = policy.away_until_ms;
  }
  return e;
}

}  // namespace sotto::server
