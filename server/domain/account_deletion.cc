// Accounts::DeleteAccount: forgetting a person. Whoever registers the same
// handle next must find nothing of them, and the people they were linked to
// keep no server row that names them (accounts.h has the contract).

#include <cstdint>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/accounts.h"
#include "server/domain/conditional_write.h"
#include "server/domain/audit_log.h"
#include "server/domain/open_by_account.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr size_t kScanBatch = 1000;

// Calls `each` for every row of `table` under `prefix`, in batches.
template <typename Each>
absl::Status ForEachRow(Store* store, Table table, absl::string_view prefix, Each each) {
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(table, prefix, after, kScanBatch));
    for (const KeyValue& kv : rows) SOTTO_RETURN_IF_ERROR(each(kv));
    if (rows.size() < kScanBatch) return absl::OkStatus();
    after = rows.back().key;
  }
}

}  // namespace

absl::StatusOr<size_t> Accounts::DeleteOwnRowsInto(absl::string_view handle, WriteBatch& batch) {
  size_t rows = 0;
  // Everything stored under the user's prefix in these tables is theirs
  // (as a therapist, kConversations holds their queue index).
  for (Table t :
       {Table::kDevices, Table::kPreKeys, Table::kQueues, Table::kQueueMeta, Table::kIdempotency,
        Table::kScheduledIndex, Table::kConversations, Table::kInviteLog}) {
    SOTTO_RETURN_IF_ERROR(ForEachRow(store_, t, keys::UserPrefix(handle), [&](const KeyValue& kv) {
      // A held message's index names its kScheduled row: delete both.
      if (t == Table::kScheduledIndex) batch.Delete(Table::kScheduled, kv.value);
      batch.Delete(t, kv.key);
      ++rows;
      return absl::OkStatus();
    }));
  }
  batch.Delete(Table::kPolicies, keys::Account(handle));
  // The email address for notifications (sealed; still theirs).
  batch.Delete(Table::kNotifications, keys::Account(handle));
  batch.Delete(Table::kAccounts, keys::Account(handle));
  // The care-link stamp (Care::CheckLinkRoom). The sets of open link codes
  // and archives stay until the closed-account listener has deleted what
  // they name; the sweeper deletes them when they expire.
  std::string stamp = keys::UserPrefix(handle);
  stamp.push_back(static_cast<char>(OpenKind::kCareLinkStamp));
  batch.Delete(Table::kOpenByAccount, std::move(stamp));
  return rows;
}

absl::Status Accounts::DeleteLinksInto(absl::string_view handle, WriteBatch& batch) {
  // Both rows of every link, whichever side the person was on: a link kept
  // (even as ended) would show the next owner of the handle the previous
  // person's therapist and dates, and show the therapist a link to whoever
  // holds the handle now. A client's link also had an entry in each linked
  // therapist's queue index.
  for (bool as_therapist : {true, false}) {
    Table mine = as_therapist ? Table::kLinks : Table::kLinksByClient;
    Table mirror = as_therapist ? Table::kLinksByClient : Table::kLinks;
    SOTTO_RETURN_IF_ERROR(
        ForEachRow(store_, mine, keys::UserPrefix(handle), [&](const KeyValue& kv) {
          std::optional<std::string> peer = keys::SecondOfPair(kv.key);
          if (!peer) return records::Corrupt("link key");
          batch.Delete(mine, kv.key);
          batch.Delete(mirror, keys::Pair(*peer, handle));
          if (!as_therapist) batch.Delete(Table::kConversations, keys::Pair(*peer, handle));
          return absl::OkStatus();
        }));
  }
  return absl::OkStatus();
}

absl::Status Accounts::DeleteNamingRowsInto(absl::string_view handle, WriteBatch& batch) {
  // Invite codes they created: redeemed later, one would link a client to
  // whoever registers the handle next. Keyed by code hash, so read them all
  // (deletion is rare; outstanding invites are few and expire).
  SOTTO_RETURN_IF_ERROR(ForEachRow(store_, Table::kInvites, "", [&](const KeyValue& kv) {
    SOTTO_ASSIGN_OR_RETURN(records::Code code, records::DecodeCode(kv.value));
    if (code.handle == handle) batch.Delete(Table::kInvites, kv.key);
    return absl::OkStatus();
  }));
  // Messages others hold for them: released later, they would reach whoever
  // registers the handle next.
  return DeleteHeldForInto(handle, std::numeric_limits<int64_t>::max(), batch);
}

absl::Status Accounts::DeleteHeldForInto(absl::string_view handle, int64_t links_before_ms,
                                         WriteBatch& batch) {
  // Keyed by release time, so read them all (deletion is rare).
  return ForEachRow(store_, Table::kScheduled, "", [&](const KeyValue& kv) {
    SOTTO_ASSIGN_OR_RETURN(records::Scheduled held, records::DecodeScheduled(kv.value));
    if (held.recipient != handle || held.link_since_ms > links_before_ms) {
      return absl::OkStatus();
    }
    batch.Delete(Table::kScheduled, kv.key);
    batch.Delete(Table::kScheduledIndex,
                 keys::ScheduledIndex(held.sender, held.sender_device, held.message_id));
    return absl::OkStatus();
  });
}

absl::Status Accounts::ExpectQueuesAsRead(absl::string_view handle, WriteBatch& batch) {
  // Read BEFORE the queues are scanned (DeleteOwnRowsInto): every Send
  // queues and moves its queue's meta in one write, so one through another
  // node that queued after this read makes the deletion ABORTED and the
  // retry deletes what it queued. A device without a meta yet is expected
  // without one: a first Send to it creates the meta. A Send that read the
  // account before the deletion and writes after it fails on its own
  // expectation of the account row (Mailbox::Deliver, Hold).
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> account,
                         store_->Get(Table::kAccounts, keys::Account(handle)));
  batch.Expect(Table::kAccounts, keys::Account(handle), std::move(account));
  absl::flat_hash_set<std::string> with_meta;
  SOTTO_RETURN_IF_ERROR(ForEachRow(
      store_, Table::kQueueMeta, keys::UserPrefix(handle), [&](const KeyValue& kv) {
        batch.Expect(Table::kQueueMeta, kv.key, kv.value);
        with_meta.insert(kv.key);
        return absl::OkStatus();
      }));
  return ForEachRow(store_, Table::kDevices, keys::UserPrefix(handle), [&](const KeyValue& kv) {
    // A device row's key is the device's queue meta key (key_codec.h).
    if (!with_meta.contains(kv.key)) batch.Expect(Table::kQueueMeta, kv.key, std::nullopt);
    return absl::OkStatus();
  });
}

absl::Status Accounts::DeleteAccount(const AuthenticatedDevice& caller, int64_t now_ms,
                                     const CallContext& call) {
  const std::string& h = caller.handle;
  {
    StripedLock lock(handle_locks_, {h});
    SOTTO_RETURN_IF_ERROR(RetryAborted("deleting the account", [&]() -> absl::Status {
      WriteBatch batch;
      SOTTO_RETURN_IF_ERROR(ExpectQueuesAsRead(h, batch));
      SOTTO_ASSIGN_OR_RETURN(size_t rows, DeleteOwnRowsInto(h, batch));
      SOTTO_RETURN_IF_ERROR(DeleteLinksInto(h, batch));
      SOTTO_RETURN_IF_ERROR(DeleteNamingRowsInto(h, batch));
      AddAudit(batch,
               {audit::kAccountDeleted, AuditActor(caller), h,
                absl::StrCat("rows=", rows, " links=deleted")},
               call);
      return store_->Write(batch, Durability::kSynced);
    }));
    // A send-later through another node that read the account before this
    // deletion, and wrote its held message after the scan above but before
    // the write, is not in the batch: its write expects only the account
    // row, which was still there. Any such write has landed by now (a later
    // one fails on the account's absence), so a second pass finds it. Only
    // messages held under links older than this call: a handle registered
    // again at once would have new ones.
    WriteBatch late;
    SOTTO_RETURN_IF_ERROR(DeleteHeldForInto(h, now_ms, late));
    if (!late.empty()) SOTTO_RETURN_IF_ERROR(store_->Write(late, Durability::kSynced));
  }
  if (on_closed_) on_closed_(h, Closed::kDeleted);
  return absl::OkStatus();
}

}  // namespace sotto::server
