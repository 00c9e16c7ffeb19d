#ifndef SOTTO_CLIENT_LIB_TRANSPORT_SHORT_CALLS_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_SHORT_CALLS_H_

// A shorter deadline for the calls one thread makes, for best-effort work a
// person waits on: sending the read receipts after `sotto read` (or an app
// showing a conversation) must not hold them up for the 15 s a call may
// otherwise wait, several times over, when the server is slow or gone.
// What did not go stays queued and goes with the next sync.

#include "absl/time/time.h"

namespace sotto::client::transport {

// While one lives, every unary call this thread makes through any
// Connection waits at most `limit` for its answer, and a Send that meets
// UNAVAILABLE is not retried. Nests (the shortest limit wins). Destroy it
// on the thread that made it.
class ShortCallsOnThisThread {
 public:
  explicit ShortCallsOnThisThread(absl::Duration limit);
  ~ShortCallsOnThisThread();
  ShortCallsOnThisThread(const ShortCallsOnThisThread&) = delete;
  ShortCallsOnThisThread& operator=(const ShortCallsOnThisThread&) = delete;

  // The limit in force on this thread; InfiniteDuration() when none.
  static absl::Duration Limit();

 private:
  absl::Duration previous_;
};

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_SHORT_CALLS_H_
