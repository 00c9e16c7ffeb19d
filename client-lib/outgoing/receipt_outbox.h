#ifndef SOTTO_CLIENT_LIB_OUTGOING_RECEIPT_OUTBOX_H_
#define SOTTO_CLIENT_LIB_OUTGOING_RECEIPT_OUTBOX_H_

// Sending the receipts that wait in Space kOutbox (delivered and read).

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/types.h"

namespace sotto::client {

class ReceiptOutbox {
 public:
  explicit ReceiptOutbox(ProfileSession& session) : session_(session) {}
  ReceiptOutbox(const ReceiptOutbox&) = delete;
  ReceiptOutbox& operator=(const ReceiptOutbox&) = delete;

  // Sends what waits. Best effort: a receipt that cannot go now stays for the
  // next Sync/Listen, one the server refuses for good is dropped; nothing
  // here fails the caller. If another thread is flushing already, returns at
  // once (that one sends everything). The profile's lock is not held while
  // a receipt is on its way. A contact whose identity change is held gets
  // no receipt until the user accepts the new key.
  void Flush() ABSL_LOCKS_EXCLUDED(session_.mu, flushing_);
  // Flush, but waits for a flush running on another thread and then sends
  // what is still waiting (it may have been queued after that one looked):
  // for Client::SendPendingReceipts, whose caller wants its receipts out now.
  void FlushNow() ABSL_LOCKS_EXCLUDED(session_.mu, flushing_);

 private:
  void FlushHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flushing_) ABSL_LOCKS_EXCLUDED(session_.mu);

  ProfileSession& session_;
  // Held by the one Flush running; guards no data, only keeps two flushes
  // from sending the same receipts.
  absl::Mutex flushing_;
};

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_OUTGOING_RECEIPT_OUTBOX_H_
