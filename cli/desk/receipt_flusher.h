#ifndef SOTTO_CLI_DESK_RECEIPT_FLUSHER_H_
#define SOTTO_CLI_DESK_RECEIPT_FLUSHER_H_

// Sends the read receipts the page's reading queued (issue 18): reading a
// conversation (GET /api/conversations/PEER) marks its messages read, and
// the sender should see "read" then, not at this desk's next Listen batch,
// which waits for the next message to arrive here. Sending takes a round
// trip to the server per sender, so it runs on a thread of its own and the
// page's read never waits for the network. Thread-safe.

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "session.h"

namespace sotto::desk {

class ReceiptFlusher {
 public:
  explicit ReceiptFlusher(Session& session) : session_(session) {}
  ReceiptFlusher(const ReceiptFlusher&) = delete;
  ReceiptFlusher& operator=(const ReceiptFlusher&) = delete;
  ~ReceiptFlusher();  // Stop()

  void Start();
  // Asks for the pending receipts to be sent soon (Client::SendPendingReceipts
  // on the thread). Kicks while a send runs make one more send after it.
  void Kick();
  // Ends the thread after the send it is in; idempotent.
  void Stop();

 private:
  void Run();

  Session& session_;
  std::thread thread_;
  absl::Mutex mu_;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_RECEIPT_FLUSHER_H_
