#include "client-lib/outgoing/receipt_outbox.h"

#include <openssl/rand.h>

#include <map>
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

// Receipts are advisory: when the server refuses one for good (the link
// ended, the peer is gone), retrying cannot help, so it is dropped. Anything
// else (unreachable server, a full queue, a local error) is retried later.
bool RefusedForGood(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

std::string NewMessageId() {
  std::string id(content::kMessageIdBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    std::abort();  // no entropy source at all
  }
  return id;
}

// The pending receipts of one (peer, type): the rows that hold them (one
// per message, or an old list row), merged for sending.
struct Group {
  PendingReceipts merged;
  absl::flat_hash_set<std::string> ids;  // those in `merged`
  std::vector<storage::Entry> rows;
};

// Groups the kOutbox rows by (peer, type); an unreadable row is a group of
// its own with no peer, dropped by Flush.
std::map<std::string, Group> GroupRows(std::vector<storage::Entry> entries) {
  std::map<std::string, Group> groups;
  for (storage::Entry& entry : entries) {
    PendingReceipts pending;
    const bool ok = pending.ParseFromString(entry.value) && !pending.peer().empty();
    Group& group = groups[ok ? std::string(history::OutboxGroup(entry.key)) : entry.key];
    if (ok) {
      group.merged.set_peer(pending.peer());
      group.merged.set_type(pending.type());
      for (const std::string& id : pending.message_ids()) {
        if (group.ids.insert(id).second) group.merged.add_message_ids(id);
      }
    }
    group.rows.push_back(std::move(entry));
  }
  return groups;
}

// Under the lock: takes `sent` ids (or all, when `drop_all`) off the rows of
// `group`, in one write. A message's row is deleted; an old list row (which
// may have grown meanwhile) is read again and rewritten without them.
void Settle(ProfileSession& session, const Group& group,
            const absl::flat_hash_set<std::string>& sent, bool drop_all)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  if (!session.CheckNotLocked().ok()) return;
  storage::LocalStore& store = session.store();
  std::vector<Write> writes;
  for (const storage::Entry& row : group.rows) {
    // A message's row never changes once written: what the scan read stands.
    const bool list_row = row.key.size() <= storage::kBlindBytes + 1;
    PendingReceipts now;
    if (list_row) {
      absl::StatusOr<std::optional<PendingReceipts>> loaded =
          history::LoadProto<PendingReceipts>(store, Space::kOutbox, row.key);
      if (!loaded.ok() || !*loaded) continue;
      now = std::move(**loaded);
    } else if (!now.ParseFromString(row.value)) {
      // Unreadable: nothing can be sent for it.
      writes.push_back(Write{Space::kOutbox, row.key, std::nullopt});
      continue;
    }
    PendingReceipts kept = now;
    kept.clear_message_ids();
    for (const std::string& id : now.message_ids()) {
      if (!drop_all && !sent.contains(id)) kept.add_message_ids(id);
    }
    if (kept.message_ids_size() == now.message_ids_size()) continue;
    writes.push_back(
        Write{Space::kOutbox, row.key,
              kept.message_ids().empty() ? std::nullopt : std::optional(kept.SerializeAsString())});
  }
  if (!writes.empty()) store.Apply(writes).IgnoreError();
}

// Sends our messages listed in `pending` to its peer again, because their
// device could not read them (it asked: a RESEND receipt). Each goes as a
// new message (a fresh id, SendKind RECEIPT: the server's queue counted
// the original) carrying the original's content and resend_of = its id,
// so the peer stores it under that id. `done` gets the ids sent, and those
// no longer ours to send (gone, cancelled, sent again kMaxResends times);
// the status is the first failed send's.
absl::Status SendAgain(ProfileSession& session, const PendingReceipts& pending,
                       absl::flat_hash_set<std::string>& done) ABSL_LOCKS_EXCLUDED(session.mu) {
  for (const std::string& id : pending.message_ids()) {
    v1::content::Content content;
    {
      absl::MutexLock lock(&session.mu);
      SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
      SOTTO_ASSIGN_OR_RETURN(auto found, history::LoadById(session.store(), id));
      if (!found || !found->second.outgoing() || found->second.peer() != pending.peer() ||
          found->second.resends() >= history::kMaxResends ||
          found->second.state() == static_cast<int32_t>(DeliveryState::kCancelled)) {
        done.insert(id);
        continue;
      }
      content = std::move(*found->second.mutable_content());
    }
    content.set_resend_of(id);
    Delivery delivery;
    delivery.header = {pending.peer(), NewMessageId(), /*receipt=*/true, 0};
    delivery.plaintext = content::EncodeContent(content);
    content.Clear();
    SOTTO_RETURN_IF_ERROR(Deliver(session, std::move(delivery)).status());
    done.insert(id);
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
    const PendingReceipts& pending = group.merged;
    if (pending.peer().empty() || (pending.type() == Receipt::READ && !read_receipts)) {
      absl::MutexLock lock(&session_.mu);
      Settle(session_, group, {}, /*drop_all=*/true);
      continue;
    }
    absl::flat_hash_set<std::string> sent;
    absl::Status status;
    if (pending.type() == history::kResendOwnMessages) {
      status = SendAgain(session_, pending, sent);
    } else {
      status = SendReceipts(pending, sent);
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

absl::Status ReceiptOutbox::SendReceipts(const PendingReceipts& pending,
                                         absl::flat_hash_set<std::string>& sent) {
  for (const Receipt& receipt : history::CutReceipts(pending)) {
    v1::content::Content content;
    content.set_sent_at_ms(session_.NowMs());
    *content.mutable_receipt() = receipt;
    Delivery delivery;
    delivery.header = {pending.peer(), NewMessageId(), /*receipt=*/true, 0};
    delivery.plaintext = content::EncodeContent(content);
    SOTTO_RETURN_IF_ERROR(Deliver(session_, std::move(delivery)).status());
    sent.insert(receipt.message_ids().begin(), receipt.message_ids().end());
  }
  return absl::OkStatus();
}

}  // namespace sotto::client
