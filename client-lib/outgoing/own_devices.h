#ifndef SOTTO_CLIENT_LIB_OUTGOING_OWN_DEVICES_H_
#define SOTTO_CLIENT_LIB_OUTGOING_OWN_DEVICES_H_

// Keeping the devices of one account in step (issue 16): what this device
// sent (a sent transcript), read (read state) and cancelled goes to the
// account's other devices as a SEND_KIND_SYNC send to our own handle, over
// ordinary Signal sessions with those devices (docs/PROTOCOL.md, "Own
// devices").
//
// A sync is queued in Space kSyncOutbox in the same write as what it
// reports (the accepted message, the messages marked read), so it is
// neither lost nor sent for something that did not happen, and Flush sends
// what waits: after a send, and with every Sync/Listen and
// SendPendingReceipts.
//
// Our own devices are trusted only with the account's own identity key
// (PinOwnKey): a device the server adds with another key gets nothing, and
// nothing it sends is taken as ours.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/local_store.h"
#include "sotto/v1/content.pb.h"

namespace sotto::client {

class OwnDevices {
 public:
  explicit OwnDevices(ProfileSession& session) : session_(session) {}
  OwnDevices(const OwnDevices&) = delete;
  OwnDevices& operator=(const OwnDevices&) = delete;

  // False when the server said lately (kAloneFor) that the account has no
  // other device: then there is no one to tell, and callers queue nothing.
  static bool MayHaveOthers(ProfileSession& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);
  // Forgets that answer: a device was linked, or one of ours wrote to us.
  static void Forget(ProfileSession& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

  // The write that queues `content` (with its sent_at_ms set) for the other
  // devices; the caller applies it with what it reports.
  static storage::Write QueueWrite(int64_t now_ms, const v1::content::Content& content);

  // Sends what waits in kSyncOutbox, oldest first. Best effort: a sync that
  // cannot go now stays for the next call; one the server refuses for good
  // (no other device any more, a device that is not ours) is dropped.
  // Nothing here fails the caller. The profile's lock is not held while a
  // sync is on its way; a Flush already running elsewhere makes this one
  // return at once.
  void Flush() ABSL_LOCKS_EXCLUDED(session_.mu, flushing_);

 private:
  // Sessions with every other device of the account, started from the
  // server's bundles of our own handle when there are none. False when
  // there is no other device.
  absl::StatusOr<bool> ReachOthers() ABSL_LOCKS_EXCLUDED(session_.mu);

  // How long a "no other device" answer stands before the server is asked
  // again (a device linked from another device meanwhile is then found).
  static constexpr absl::Duration kAloneFor = absl::Minutes(5);

  ProfileSession& session_;
  // Held by the one Flush running; guards no data.
  absl::Mutex flushing_;
};

// Under the lock: pins the account's own identity key as the one trusted
// key of our own handle, if nothing is pinned for it yet. Done before any
// session with (or message from) another device of ours, so that trust on
// first use never applies to our own handle.
absl::Status PinOwnKey(ProfileSession& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_OUTGOING_OWN_DEVICES_H_
