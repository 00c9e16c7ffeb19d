#ifndef SOTTO_CLIENT_LIB_INCOMING_RECEIVER_H_
#define SOTTO_CLIENT_LIB_INCOMING_RECEIVER_H_

// What comes in: Fetch (Sync) or Subscribe (Listen) → decrypt → store →
// acknowledge, and after it the chores that ride on a sync: receipts out,
// messages that waited to be sent, key maintenance.
//
// The profile's lock is taken per page (Sync) or per envelope (Listen) for
// the local work, and never held while waiting for the server.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client-lib/outgoing/own_devices.h"
#include "client-lib/outgoing/receipt_outbox.h"
#include "client-lib/outgoing/sender.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/client.h"
#include "sotto/types.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

// One thing a Listen shows the app, in arrival order.
using ListenEvent = std::variant<Message, ReceiptEvent, IdentityNotice>;

// The ids of the messages a Sync page or a Listen burst stored, by sender in
// arrival order: their delivery receipts, queued as one kOutbox row per
// sender at the end of the page rather than one row per message, which were
// each written, scanned, opened and deleted again (~18% of a sync's CPU,
// issue 21). The page's span makes them as durable as the messages.
using PageReceipts = std::map<std::string, std::vector<std::string>>;

class Receiver {
 public:
  Receiver(ProfileSession& session, Sender& sender, ReceiptOutbox& receipts,
           OwnDevices& own_devices)
      : session_(session), sender_(sender), receipts_(receipts), own_devices_(own_devices) {}
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  absl::StatusOr<SyncStats> Sync() ABSL_LOCKS_EXCLUDED(session_.mu, syncing_);
  absl::StatusOr<SyncStats> Listen(absl::Duration idle_timeout,
                                   const Client::ListenHandlers& handlers)
      ABSL_LOCKS_EXCLUDED(session_.mu);

 private:
  // Listen's step for the envelopes of a burst that arrived together: the
  // same as Sync's page (decrypted and stored under one disk sync, then one
  // Ack), then each message, receipt and identity notice shown (handlers)
  // in order until the caller says stop. After the backlog, their delivery
  // receipts go out.
  absl::Status StoreAndShow(const std::vector<v1::Envelope>& envelopes, bool backlog_done,
                            SyncStats& stats, const Client::ListenHandlers& handlers,
                            bool& stopped_by_caller) ABSL_LOCKS_EXCLUDED(session_.mu);
  // Sync's step for one fetched page: decrypts and stores every envelope,
  // durably, and returns the seqs to acknowledge.
  absl::StatusOr<std::vector<uint64_t>> StorePage(const v1::FetchResponse& batch, SyncStats& stats)
      ABSL_LOCKS_EXCLUDED(session_.mu);
  // What follows every Sync and Listen: receipts, syncs to our other
  // devices, unsent messages, keys.
  void AfterReceiving(SyncStats& stats) ABSL_LOCKS_EXCLUDED(session_.mu);

  ProfileSession& session_;
  Sender& sender_;
  ReceiptOutbox& receipts_;
  OwnDevices& own_devices_;
  // Two Syncs at once would fetch the same page twice; the second waits.
  // Guards no data and does not keep local calls waiting.
  absl::Mutex syncing_;
};

// Decrypts and stores one envelope. Returns whether to acknowledge it.
// Errors only for failures of our own (local store, I/O), which leave the
// envelope queued for the next sync. `shown` (if not null) gets what to show
// the app: the new message, each of our messages a receipt moved, or a new
// identity notice (also in stats.notices).
// The delivery receipt of each new message goes into `receipts`, to be
// queued with QueueReceipts in the same deferred span.
absl::StatusOr<bool> ProcessEnvelope(ProfileSession& session, const v1::Envelope& envelope,
                                     SyncStats& stats, std::vector<ListenEvent>* shown,
                                     PageReceipts& receipts)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

// Queues the DELIVERED receipts collected in `receipts` (one kOutbox row per
// sender) and clears it. Call it in the page's deferred span, also when the
// page stops at an error: the messages stored before it stay stored, and so
// must their receipts, since a second delivery of them is only a duplicate.
absl::Status QueueReceipts(ProfileSession& session, PageReceipts& receipts)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_INCOMING_RECEIVER_H_
