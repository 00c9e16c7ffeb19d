#include "client-lib/outgoing/receipt_outbox.h"

#include <openssl/rand.h>

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

// Under the lock: takes `sent` ids (or all, when `drop_all`) off the record
// under `key`, which may have grown meanwhile.
void Settle(ProfileSession& session, const std::string& key,
            const absl::flat_hash_set<std::string>& sent, bool drop_all)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  if (!session.CheckNotLocked().ok()) return;
  storage::LocalStore& store = session.store();
  absl::StatusOr<std::optional<PendingReceipts>> now =
      history::LoadProto<PendingReceipts>(store, Space::kOutbox, key);
  if (!now.ok() || !*now) return;
  PendingReceipts kept = **now;
  kept.clear_message_ids();
  for (const std::string& id : (*now)->message_ids()) {
    if (!drop_all && !sent.contains(id)) kept.add_message_ids(id);
  }
  if (kept.message_ids_size() == (*now)->message_ids_size()) return;
  store
      .Apply({Write{
          Space::kOutbox, key,
          kept.message_ids().empty() ? std::nullopt : std::optional(kept.SerializeAsString())}})
      .IgnoreError();
}

}  // namespace

void ReceiptOutbox::Flush() {
  if (!flushing_.TryLock()) return;
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
  for (const storage::Entry& entry : entries) {
    PendingReceipts pending;
    if (!pending.ParseFromString(entry.value) ||
        (pending.type() == Receipt::READ && !read_receipts)) {
      absl::MutexLock lock(&session_.mu);
      Settle(session_, entry.key, {}, /*drop_all=*/true);
      continue;
    }
    absl::flat_hash_set<std::string> sent;
    absl::Status status;
    for (const Receipt& receipt : history::CutReceipts(pending)) {
      v1::content::Content content;
      content.set_sent_at_ms(session_.NowMs());
      *content.mutable_receipt() = receipt;
      Delivery delivery;
      delivery.header = {pending.peer(), NewMessageId(), /*receipt=*/true, 0};
      delivery.plaintext = content::EncodeContent(content);
      status = Deliver(session_, std::move(delivery)).status();
      if (!status.ok()) break;
      sent.insert(receipt.message_ids().begin(), receipt.message_ids().end());
    }
    {
      absl::MutexLock lock(&session_.mu);
      Settle(session_, entry.key, sent, /*drop_all=*/!status.ok() && RefusedForGood(status));
    }
    // An unreachable server will not answer the next one either.
    if (status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kDeadlineExceeded) {
      break;
    }
  }
  flushing_.Unlock();
}

}  // namespace sotto::client
