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
    for (const Receipt& receipt : history::CutReceipts(pending)) {
      v1::content::Content content;
      content.set_sent_at_ms(session_.NowMs());
      *content.mutable_receipt() = receipt;
      Delivery delivery;
      delivery.header = {pending.peer(), content::NewMessageId(), /*receipt=*/true, 0};
      delivery.plaintext = content::EncodeContent(content);
      status = Deliver(session_, std::move(delivery)).status();
      if (!status.ok()) break;
      sent.insert(receipt.message_ids().begin(), receipt.message_ids().end());
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
