#include "client-lib/outgoing/receipt_outbox.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/history_book.h"
#include "client-lib/history/outbox.h"
#include "client-lib/outgoing/delivery.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using storage::Space;
using storage::Write;
using v1::content::Receipt;

// The pending receipts of one (peer, type): the rows that hold them (one
// per Sync page or Listen burst, or an old list row), each parsed once, and
// their ids in order without repeats. A Sync of 10,000 leaves ten rows of
// 1,000 ids; copying every id into a merged list, a set, the cut receipts and
// a re-parse per row cost ~6% of that Sync's CPU (issue 21), so the ids are
// views into `parsed`, which stays put once GroupRows returns.
struct Group {
  std::string peer;  // empty: unreadable rows, dropped by Flush
  Receipt::Type type = Receipt::DELIVERED;
  std::vector<storage::Entry> rows;
  std::vector<std::optional<PendingReceipts>> parsed;  // per row; nullopt: unreadable
  std::vector<absl::string_view> ids;
};

// Groups the kOutbox rows by (peer, type); an unreadable row is a group of
// its own with no peer, dropped by Flush.
std::map<std::string, Group> GroupRows(std::vector<storage::Entry> entries) {
  std::map<std::string, Group> groups;
  for (storage::Entry& entry : entries) {
    std::optional<PendingReceipts> pending(std::in_place);
    if (!pending->ParseFromString(entry.value)) pending.reset();
    const bool ok = pending && !pending->peer().empty();
    Group& group = groups[ok ? std::string(history::OutboxGroup(entry.key)) : entry.key];
    if (ok) {
      group.peer = pending->peer();
      group.type = static_cast<Receipt::Type>(pending->type());
    }
    group.rows.push_back(std::move(entry));
    group.parsed.push_back(std::move(pending));
  }
  for (auto& [key, group] : groups) {
    if (group.peer.empty()) continue;
    size_t count = 0;
    for (const auto& pending : group.parsed) count += pending ? pending->message_ids_size() : 0;
    absl::flat_hash_set<absl::string_view> seen;
    seen.reserve(count);
    group.ids.reserve(count);
    for (const auto& pending : group.parsed) {
      if (!pending) continue;
      for (const std::string& id : pending->message_ids()) {
        if (seen.insert(id).second) group.ids.push_back(id);
      }
    }
  }
  return groups;
}

// Under the lock: takes the first `sent` ids of `group` (all, when
// `drop_all`) off its rows, in one write. A message's row never changes once
// written, so what the scan read stands: it is deleted once all its ids are
// settled. An old list row (which may have grown meanwhile) is read again
// and rewritten without them.
void Settle(ProfileSession& session, const Group& group, size_t sent, bool drop_all)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  if (!session.CheckNotLocked().ok()) return;
  storage::LocalStore& store = session.store();
  auto is_list_row = [](const storage::Entry& row) {
    return row.key.size() <= storage::kBlindBytes + 1;
  };
  const bool all_sent = sent >= group.ids.size();
  // Which ids went out, when a row must be checked id by id: not all went,
  // or a list row may have grown since the scan.
  absl::flat_hash_set<absl::string_view> settled;
  if (!drop_all && (!all_sent || std::any_of(group.rows.begin(), group.rows.end(), is_list_row))) {
    settled.insert(group.ids.begin(), group.ids.begin() + std::min(sent, group.ids.size()));
  }
  std::vector<Write> writes;
  for (size_t i = 0; i < group.rows.size(); ++i) {
    const storage::Entry& row = group.rows[i];
    const bool list_row = is_list_row(row);
    const bool all = drop_all || (all_sent && !list_row);
    std::optional<PendingReceipts> reloaded;
    const PendingReceipts* now = group.parsed[i] ? &*group.parsed[i] : nullptr;
    if (list_row) {
      absl::StatusOr<std::optional<PendingReceipts>> loaded =
          history::LoadProto<PendingReceipts>(store, Space::kOutbox, row.key);
      if (!loaded.ok() || !*loaded) continue;
      reloaded = std::move(*loaded);
      now = &*reloaded;
    } else if (now == nullptr) {
      // Unreadable: nothing can be sent for it.
      writes.push_back(Write{Space::kOutbox, row.key, std::nullopt});
      continue;
    }
    if (now->message_ids().empty()) continue;
    PendingReceipts kept;
    if (!all) {
      kept.set_peer(now->peer());
      kept.set_type(now->type());
      for (const std::string& id : now->message_ids()) {
        if (!settled.contains(id)) kept.add_message_ids(id);
      }
      if (kept.message_ids_size() == now->message_ids_size()) continue;
    }
    writes.push_back(
        Write{Space::kOutbox, row.key,
              kept.message_ids().empty() ? std::nullopt : std::optional(kept.SerializeAsString())});
  }
  if (!writes.empty()) store.Apply(writes).IgnoreError();
}

// Sends our messages of `group` to its peer again, because their device
// could not read them (it asked: a RESEND receipt). Each goes as a new
// message (a fresh id, SendKind RECEIPT: the server's queue counted the
// original) carrying the original's content and resend_of = its id, so the
// peer stores it under that id. `done` counts the ids dealt with, in order:
// sent, or no longer ours to send (gone, cancelled, sent again kMaxResends
// times). The status is the failed send's.
absl::Status SendAgain(ProfileSession& session, const Group& group, size_t& done)
    ABSL_LOCKS_EXCLUDED(session.mu) {
  for (; done < group.ids.size(); ++done) {
    const std::string id(group.ids[done]);
    v1::content::Content content;
    {
      absl::MutexLock lock(&session.mu);
      SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
      SOTTO_ASSIGN_OR_RETURN(auto found, history::LoadById(session.store(), id));
      if (!found || !found->second.outgoing() || found->second.peer() != group.peer ||
          found->second.resends() >= history::kMaxResends ||
          found->second.state() == static_cast<int32_t>(DeliveryState::kCancelled)) {
        continue;
      }
      content = std::move(*found->second.mutable_content());
    }
    content.set_resend_of(id);
    Delivery delivery;
    delivery.header = {group.peer, content::NewMessageId(), /*receipt=*/true, 0};
    delivery.plaintext = content::EncodeContent(content);
    content.Clear();
    SOTTO_RETURN_IF_ERROR(Deliver(session, std::move(delivery)).status());
    // Counted once it went (read again: a receipt may have moved it).
    absl::MutexLock lock(&session.mu);
    if (!session.CheckNotLocked().ok()) continue;
    absl::StatusOr<std::optional<std::pair<std::string, StoredMessage>>> sent =
        history::LoadById(session.store(), id);
    if (!sent.ok() || !*sent) continue;
    StoredMessage& stored = (*sent)->second;
    stored.set_resends(stored.resends() + 1);
    session.store()
        .Apply({Write{Space::kHistory, (*sent)->first, stored.SerializeAsString()}})
        .IgnoreError();
  }
  return absl::OkStatus();
}

}  // namespace

void ReceiptOutbox::Flush() {
  if (!flushing_.TryLock()) return;
  FlushHeld();
  flushing_.Unlock();
}

void ReceiptOutbox::FlushNow() {
  absl::MutexLock lock(&flushing_);
  FlushHeld();
}

void ReceiptOutbox::FlushHeld() {
  std::vector<storage::Entry> entries;
  bool read_receipts = false;
  {
    absl::MutexLock lock(&session_.mu);
    absl::StatusOr<std::vector<storage::Entry>> scanned =
        session_.CheckNotLocked().ok()
            ? session_.store().Scan(Space::kOutbox, "")
            : absl::StatusOr<std::vector<storage::Entry>>(absl::FailedPreconditionError("locked"));
    if (scanned.ok()) entries = std::move(*scanned);
    read_receipts = session_.read_receipts();
  }
  for (const auto& [key, group] : GroupRows(std::move(entries))) {
    if (group.peer.empty() || (group.type == Receipt::READ && !read_receipts)) {
      absl::MutexLock lock(&session_.mu);
      Settle(session_, group, 0, /*drop_all=*/true);
      continue;
    }
    // Receipts of at most kMaxReceiptIds ids each, in order: `sent` counts
    // the ids of those the server took.
    size_t sent = 0;
    absl::Status status;
    if (group.type == history::kResendOwnMessages) status = SendAgain(session_, group, sent);
    while (group.type != history::kResendOwnMessages && sent < group.ids.size()) {
      const size_t end = std::min(group.ids.size(), sent + content::kMaxReceiptIds);
      v1::content::Content content;
      content.set_sent_at_ms(session_.NowMs());
      Receipt* receipt = content.mutable_receipt();
      receipt->set_type(group.type);
      receipt->mutable_message_ids()->Reserve(static_cast<int>(end - sent));
      for (size_t i = sent; i < end; ++i) receipt->add_message_ids(std::string(group.ids[i]));
      Delivery delivery;
      delivery.header = {group.peer, content::NewMessageId(), /*receipt=*/true, 0};
      delivery.plaintext = content::EncodeContent(content);
      status = Deliver(session_, std::move(delivery)).status();
      if (!status.ok()) break;
      sent = end;
    }
    {
      absl::MutexLock lock(&session_.mu);
      Settle(session_, group, sent, /*drop_all=*/!status.ok() && RefusedForGood(status));
    }
    // An unreachable server will not answer the next one either.
    if (status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kDeadlineExceeded) {
      break;
    }
  }
}

}  // namespace sotto::client
