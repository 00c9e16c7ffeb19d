#include "client-lib/history/history_book.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/delivery_state.h"
#include "client-lib/history/outbox.h"
#include "client-lib/history/reply.h"
#include "sotto/status_macros.h"

namespace sotto::client::history {
namespace {

using storage::Entry;
using storage::LocalStore;
using storage::Space;
using storage::Write;
using v1::content::Content;
using v1::content::Receipt;

constexpr char kNextLocalSeqKey[] = "next_local_seq";
constexpr size_t kPreviewChars = 80;
constexpr size_t kMessageIdBytes = content::kMessageIdBytes;

std::string Preview(const std::string& text) {
  if (text.size() <= kPreviewChars) return text;
  size_t cut = kPreviewChars;
  // Don't cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

// What the conversation list shows of a message.
std::string PreviewOf(const Content& content) {
  if (content.has_letter()) return Preview(content.letter().subject());
  return Preview(content.text().body());
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// Makes `summary` show `stored` if it is the newest so far.
void ShowIfNewest(const StoredMessage& stored, ConversationSummary& summary) {
  if (stored.server_time_ms() >= summary.last_activity_ms()) {
    summary.set_last_activity_ms(stored.server_time_ms());
    summary.set_preview(PreviewOf(stored.content()));
    summary.set_last_outgoing(stored.outgoing());
  }
}

// Wipes the decrypted values of scanned entries (messages) on scope exit.
class WipeEntries {
 public:
  explicit WipeEntries(std::vector<Entry>& entries) : entries_(entries) {}
  ~WipeEntries() {
    for (Entry& e : entries_) storage::Wipe(e.value);
  }
  WipeEntries(const WipeEntries&) = delete;
  WipeEntries& operator=(const WipeEntries&) = delete;

 private:
  std::vector<Entry>& entries_;
};

// The kMessageIndex entry under MessageIdKey(id); nullopt when absent.
absl::StatusOr<std::optional<MessageIndexEntry>> LoadIndexEntry(LocalStore& store,
                                                                absl::string_view message_id) {
  return LoadProto<MessageIndexEntry>(store, Space::kMessageIndex, MessageIdKey(store, message_id));
}

// `index_key` is MessageIdKey(store, message_id).
Write IndexWrite(std::string index_key, const std::string& message_id,
                 const std::string& history_key) {
  MessageIndexEntry entry;
  entry.set_history_key(history_key);
  entry.set_message_id(message_id);
  return Write{Space::kMessageIndex, std::move(index_key), entry.SerializeAsString()};
}

}  // namespace

std::string MessageIdKey(const LocalStore& store, absl::string_view message_id) {
  // A handle never starts with a NUL, so an id never blinds like a handle.
  std::string tagged("\0message-id\0", 12);
  tagged.append(message_id.data(), message_id.size());
  return store.Blind(tagged);
}

Message ToMessage(const StoredMessage& stored, int64_t now_ms) {
  Message m;
  m.id = absl::BytesToHexString(stored.message_id());
  m.peer = stored.peer();
  m.outgoing = stored.outgoing();
  m.server_time_ms = stored.server_time_ms();
  m.sent_at_ms = stored.content().sent_at_ms();
  const Content& content = stored.content();
  if (content.has_letter()) {
    m.kind = MessageKind::kLetter;
    m.subject = content.letter().subject();
    m.text = content.letter().body();
    m.in_reply_to = absl::BytesToHexString(content.letter().in_reply_to());
    // A new thread may leave thread_id empty: the letter is its own thread.
    m.thread_id = content.letter().thread_id().empty()
                      ? m.id
                      : absl::BytesToHexString(content.letter().thread_id());
  } else {
    m.kind = MessageKind::kText;
    m.text = content.text().body();
  }
  m.state = stored.outgoing()
                ? ReportedState(StoredState(stored.state()), stored.server_time_ms(), now_ms)
                : DeliveryState::kDelivered;
  m.failure = stored.failure();
  m.from_device = stored.outgoing() ? stored.from_device() : 0;
  return m;
}

absl::StatusOr<std::vector<Write>> HistoryWrites(LocalStore& store, StoredMessage& stored,
                                                 std::string* history_key_out) {
  SOTTO_ASSIGN_OR_RETURN(auto next, store.Get(Space::kMeta, kNextLocalSeqKey));
  uint64_t seq = 1;
  if (next && next->size() == 8) {
    seq = 0;
    for (unsigned char c : *next) seq = (seq << 8) | c;
  }
  stored.set_local_seq(seq);
  const std::string blinded = store.Blind(stored.peer());
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  ConversationSummary updated = summary.value_or(ConversationSummary());
  updated.set_peer(stored.peer());
  updated.set_message_count(updated.message_count() + 1);
  // A message read elsewhere (one a history transfer brings) stays read.
  if (!stored.outgoing() && !stored.read()) updated.set_unread_count(updated.unread_count() + 1);
  ShowIfNewest(stored, updated);
  const std::string history_key = blinded + BigEndian64(seq);
  if (history_key_out) *history_key_out = history_key;
  std::vector<Write> writes{
      Write{Space::kMeta, kNextLocalSeqKey, BigEndian64(seq + 1)},
      Write{Space::kHistory, history_key, stored.SerializeAsString()},
      Write{Space::kConversation, blinded, updated.SerializeAsString()},
  };
  // The first message with an id keeps it: a peer who reuses an id (ours
  // or their own) cannot redirect replies or receipts to their message.
  // (A malformed id from a peer is kept in the history but not indexed.)
  if (stored.message_id().size() == kMessageIdBytes) {
    // Blinded once for the look-up and the write.
    std::string index_key = MessageIdKey(store, stored.message_id());
    SOTTO_ASSIGN_OR_RETURN(auto indexed,
                           LoadProto<MessageIndexEntry>(store, Space::kMessageIndex, index_key));
    if (!indexed) {
      writes.push_back(IndexWrite(std::move(index_key), stored.message_id(), history_key));
    }
  }
  return writes;
}

absl::StatusOr<std::optional<std::pair<std::string, StoredMessage>>> LoadById(
    LocalStore& store, absl::string_view message_id) {
  using Found = std::optional<std::pair<std::string, StoredMessage>>;
  SOTTO_ASSIGN_OR_RETURN(auto indexed, LoadIndexEntry(store, message_id));
  if (!indexed) return Found();
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         LoadProto<StoredMessage>(store, Space::kHistory, indexed->history_key()));
  if (!stored) return Found();
  return Found(std::make_pair(indexed->history_key(), std::move(*stored)));
}

absl::StatusOr<std::vector<Write>> ReceiptWrites(LocalStore& store, const std::string& sender,
                                                 const Receipt& receipt,
                                                 std::vector<StoredMessage>* changed) {
  std::vector<Write> writes;
  for (const std::string& id : receipt.message_ids()) {
    SOTTO_ASSIGN_OR_RETURN(auto indexed, LoadIndexEntry(store, id));
    if (!indexed) continue;
    const std::string& history_key = indexed->history_key();
    SOTTO_ASSIGN_OR_RETURN(auto stored,
                           LoadProto<StoredMessage>(store, Space::kHistory, history_key));
    if (!stored || !stored->outgoing() || stored->peer() != sender) continue;
    const DeliveryState before = StoredState(stored->state());
    const DeliveryState after = ApplyReceipt(before, receipt.type());
    if (after == before) continue;
    stored->set_state(static_cast<int32_t>(after));
    writes.push_back(Write{Space::kHistory, history_key, stored->SerializeAsString()});
    if (changed != nullptr) changed->push_back(std::move(*stored));
  }
  return writes;
}

std::vector<Write> PendingReceiptWrites(LocalStore& store, const std::string& peer,
                                        Receipt::Type type, const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  PendingReceipts all;
  all.set_peer(peer);
  all.set_type(type);
  for (const std::string& id : ids) all.add_message_ids(id);
  // Keyed by 16 random bytes, not by a message id: a sender's retry reuses
  // its id, and a row keyed by it would overwrite a waiting row that holds
  // other messages' receipts.
  std::string batch(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(batch.data()), static_cast<int>(batch.size())) !=
      1) {
    std::abort();  // no entropy source at all
  }
  return {Write{Space::kOutbox, OutboxRowKey(OutboxKey(store.Blind(peer), type), batch),
                all.SerializeAsString()}};
}

absl::StatusOr<std::pair<std::string, StoredMessage>> FindMessage(LocalStore& store,
                                                                  absl::string_view id_prefix) {
  SOTTO_ASSIGN_OR_RETURN(std::string prefix, NormalizeIdPrefix(id_prefix));
  // The keys are blinded: the ids are only inside the entries.
  SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kMessageIndex, ""));
  std::vector<MessageIndexEntry> matches;
  for (const auto& entry : entries) {
    MessageIndexEntry indexed;
    if (!indexed.ParseFromString(entry.value)) {
      return absl::DataLossError("a local message index entry is corrupt");
    }
    if (absl::StartsWith(absl::BytesToHexString(indexed.message_id()), prefix)) {
      matches.push_back(std::move(indexed));
    }
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no message with an id starting '", prefix, "'"));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", prefix, "' matches ", matches.size(), " messages; give more of the id"));
  }
  const std::string history_key = matches[0].history_key();
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         LoadProto<StoredMessage>(store, Space::kHistory, history_key));
  if (!stored) {
    return absl::DataLossError(
        absl::StrCat("message ", prefix, "… is indexed but missing from the history"));
  }
  return std::make_pair(history_key, std::move(*stored));
}

absl::StatusOr<Write> ShowInSummaryWrite(LocalStore& store, const StoredMessage& stored) {
  const std::string blinded = store.Blind(stored.peer());
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  ConversationSummary updated = summary.value_or(ConversationSummary());
  updated.set_peer(stored.peer());
  ShowIfNewest(stored, updated);
  return Write{Space::kConversation, blinded, updated.SerializeAsString()};
}

absl::StatusOr<Write> RefreshSummaryWrite(LocalStore& store, const std::string& peer,
                                          const std::vector<Write>& pending) {
  const std::string blinded = store.Blind(peer);
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  ConversationSummary updated = summary.value_or(ConversationSummary());
  updated.set_peer(peer);
  updated.set_last_activity_ms(0);
  updated.clear_preview();
  updated.set_last_outgoing(false);
  SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kHistory, blinded));
  WipeEntries wipe(entries);
  for (const Entry& entry : entries) {
    std::optional<absl::string_view> value = entry.value;
    // A write not applied yet (the cancellation itself) wins.
    for (const Write& w : pending) {
      if (w.space == Space::kHistory && w.key == entry.key) {
        value = w.value ? std::optional<absl::string_view>(*w.value) : std::nullopt;
      }
    }
    if (!value) continue;
    StoredMessage stored;
    if (!stored.ParseFromString(std::string(*value))) {
      return absl::DataLossError(absl::StrCat("a local message with '", peer, "' is corrupt"));
    }
    if (stored.outgoing() && StoredState(stored.state()) == DeliveryState::kCancelled) continue;
    ShowIfNewest(stored, updated);
  }
  return Write{Space::kConversation, blinded, updated.SerializeAsString()};
}

absl::StatusOr<std::vector<Write>> ForgetWrites(LocalStore& store, const std::string& history_key,
                                                const StoredMessage& stored) {
  std::vector<Write> writes{Write{Space::kHistory, history_key, std::nullopt}};
  SOTTO_ASSIGN_OR_RETURN(auto indexed, LoadIndexEntry(store, stored.message_id()));
  if (indexed && indexed->history_key() == history_key) {
    writes.push_back(
        Write{Space::kMessageIndex, MessageIdKey(store, stored.message_id()), std::nullopt});
  }
  const std::string blinded = store.Blind(stored.peer());
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  if (!summary || summary->message_count() <= 1) {
    writes.push_back(Write{Space::kConversation, blinded, std::nullopt});
    return writes;
  }
  SOTTO_ASSIGN_OR_RETURN(Write refreshed, RefreshSummaryWrite(store, stored.peer(), writes));
  ConversationSummary counted;
  if (!counted.ParseFromString(*refreshed.value)) return absl::InternalError("summary");
  counted.set_message_count(summary->message_count() - 1);
  refreshed.value = counted.SerializeAsString();
  writes.push_back(std::move(refreshed));
  return writes;
}

absl::StatusOr<std::vector<Conversation>> ListConversations(LocalStore& store) {
  SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kConversation, ""));
  std::vector<Conversation> out;
  out.reserve(entries.size());
  for (const auto& entry : entries) {
    ConversationSummary summary;
    if (!summary.ParseFromString(entry.value)) {
      return absl::DataLossError("a local conversation record is corrupt");
    }
    Conversation c;
    c.peer = summary.peer();
    c.last_activity_ms = summary.last_activity_ms();
    c.message_count = summary.message_count();
    c.unread_count = summary.unread_count();
    c.preview = summary.preview();
    c.last_outgoing = summary.last_outgoing();
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Conversation& a, const Conversation& b) {
    return a.last_activity_ms != b.last_activity_ms ? a.last_activity_ms > b.last_activity_ms
                                                    : a.peer < b.peer;
  });
  return out;
}

absl::StatusOr<ConversationRead> ReadConversation(LocalStore& store, absl::string_view peer,
                                                  int64_t now_ms, bool read_receipts) {
  const std::string blinded = store.Blind(peer);
  SOTTO_ASSIGN_OR_RETURN(auto summary,
                         LoadProto<ConversationSummary>(store, Space::kConversation, blinded));
  if (!summary) return absl::NotFoundError(absl::StrCat("no conversation with '", peer, "'"));
  SOTTO_ASSIGN_OR_RETURN(auto entries, store.Scan(Space::kHistory, blinded));
  WipeEntries wipe(entries);
  ConversationRead out;
  out.messages.reserve(entries.size());
  // Marking read and queueing the read receipts is one write, so a crash
  // can neither lose a receipt nor send one for a message never shown.
  std::vector<std::string> newly_read;
  for (const auto& entry : entries) {
    StoredMessage stored;
    if (!stored.ParseFromString(entry.value)) {
      return absl::DataLossError(absl::StrCat("a local message with '", peer, "' is corrupt"));
    }
    out.messages.push_back(ToMessage(stored, now_ms));
    if (!stored.outgoing() && !stored.read()) {
      stored.set_read(true);
      newly_read.push_back(stored.message_id());
      out.writes.push_back(Write{Space::kHistory, entry.key, stored.SerializeAsString()});
    }
  }
  if (summary->unread_count() != 0) {
    summary->set_unread_count(0);
    out.writes.push_back(Write{Space::kConversation, blinded, summary->SerializeAsString()});
  }
  if (read_receipts && !newly_read.empty()) {
    for (Write& w : PendingReceiptWrites(store, std::string(peer), Receipt::READ, newly_read)) {
      out.writes.push_back(std::move(w));
    }
  }
  out.newly_read = std::move(newly_read);
  return out;
}

absl::Status BuildMessageIndex(LocalStore& store) {
  SOTTO_ASSIGN_OR_RETURN(auto ready, store.Get(Space::kMeta, kMessageIndexReadyKey));
  if (ready) return absl::OkStatus();
  std::vector<Write> writes;
  // The old index (raw id -> history key), if the profile has one: its
  // choice of owner for a shared id stands.
  std::map<std::string, std::string> owner;
  SOTTO_ASSIGN_OR_RETURN(auto old_index, store.Scan(Space::kMessageIndex, ""));
  for (auto& entry : old_index) {
    writes.push_back(Write{Space::kMessageIndex, entry.key, std::nullopt});
    owner.emplace(std::move(entry.key), std::move(entry.value));
  }
  SOTTO_ASSIGN_OR_RETURN(auto history, store.Scan(Space::kHistory, ""));
  std::map<std::string, std::pair<uint64_t, std::string>> oldest;  // id -> (seq, history key)
  std::set<std::string> present;
  for (const auto& entry : history) {
    StoredMessage stored;
    if (!stored.ParseFromString(entry.value)) {
      return absl::DataLossError("a local message is corrupt");
    }
    present.insert(entry.key);
    if (stored.message_id().size() != kMessageIdBytes) continue;
    auto [it, added] = oldest.try_emplace(stored.message_id(), stored.local_seq(), entry.key);
    if (!added && stored.local_seq() < it->second.first)
      it->second = {stored.local_seq(), entry.key};
  }
  for (const auto& [id, seq_and_key] : oldest) {
    auto named = owner.find(id);
    const bool keep_old = named != owner.end() && present.count(named->second) > 0;
    writes.push_back(
        IndexWrite(MessageIdKey(store, id), id, keep_old ? named->second : seq_and_key.second));
  }
  // kUnsent keys were raw ids too; the id moves into the record.
  SOTTO_ASSIGN_OR_RETURN(auto unsent, store.Scan(Space::kUnsent, ""));
  for (const auto& entry : unsent) {
    UnsentMessage record;
    if (!record.ParseFromString(entry.value)) {
      return absl::DataLossError("a local message waiting to be sent is corrupt");
    }
    record.set_message_id(entry.key);
    writes.push_back(Write{Space::kUnsent, entry.key, std::nullopt});
    writes.push_back(
        Write{Space::kUnsent, MessageIdKey(store, entry.key), record.SerializeAsString()});
  }
  writes.push_back(Write{Space::kMeta, kMessageIndexReadyKey, "1"});
  return store.Apply(writes);
}

}  // namespace sotto::client::history
