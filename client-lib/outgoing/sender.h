#ifndef SOTTO_CLIENT_LIB_OUTGOING_SENDER_H_
#define SOTTO_CLIENT_LIB_OUTGOING_SENDER_H_

// Messages a person wrote, from the moment they pass validation until the
// server has them: recorded in the local history first (kNotSent, with the
// message in Space kUnsent), then delivered, then recorded as sent or
// scheduled — or kept as kNotSent (the server could not be reached: sent by
// the next Send, Sync, Listen or RetryUnsent). A message the server refuses
// for good is taken out of the history again when its writer is there to be
// told (the call that wrote it gets the error, and still has the text), and
// kept as kFailed when it was a later retry (no one else holds the text).
// Nothing a person wrote is lost on a failed send or a crash.
//
// A message the server took is reported to the account's other devices (a
// sent transcript, queued with the record's update: own_devices.h), and so
// is the cancellation of a send-later message.

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/outgoing/own_devices.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/client/records.pb.h"
#include "sotto/types.h"
#include "sotto/v1/content.pb.h"
#include "sotto/v1/messages.pb.h"

namespace sotto::client {

class Sender {
 public:
  Sender(ProfileSession& session, OwnDevices& own_devices)
      : session_(session), own_devices_(own_devices) {}
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Validates, records, delivers and records the outcome of one message.
  // Messages still waiting from before go first, so a conversation keeps
  // its order.
  absl::StatusOr<SendResult> Send(absl::string_view to, std::string message_id,
                                  v1::content::Content content, const SendOptions& options)
      ABSL_LOCKS_EXCLUDED(session_.mu);

  // Sends the messages kept as kNotSent (and kFailed too when
  // `include_failed`), oldest first. Returns how many the server took; an
  // error is the first failure (the rest were still tried, but after an
  // unreachable server nothing more is).
  absl::StatusOr<int> RetryUnsent(bool include_failed) ABSL_LOCKS_EXCLUDED(session_.mu);

  // Cancels a scheduled message on the server, or discards one that was
  // never sent; either way it becomes kCancelled. A message scheduled from
  // another device of the account (known here from its transcript) is that
  // device's to cancel: FAILED_PRECONDITION naming it.
  absl::Status Cancel(absl::string_view id_prefix) ABSL_LOCKS_EXCLUDED(session_.mu);

 private:
  struct Pending {
    std::string message_id;
    std::string history_key;
  };
  // Deletes draft `draft_id` once the message `message_id` it became is
  // safe: sent (`sent`), or kept in the history to be sent later. A send
  // refused for good (the message taken out again) keeps the draft, so the
  // text is not lost. Best effort: a failure leaves the draft, never loses it.
  void DropDraft(const std::string& draft_id, const std::string& message_id, bool sent)
      ABSL_LOCKS_EXCLUDED(session_.mu);
  // The result of one attempt at a recorded message. `keep_refused`: keep
  // the message as kFailed if the server refuses it for good (else it is
  // taken out of the history).
  absl::StatusOr<SendResult> Attempt(const Pending& pending, bool keep_refused)
      ABSL_LOCKS_EXCLUDED(session_.mu);
  // The recorded messages waiting to go, oldest first, that no other call
  // is sending now.
  absl::StatusOr<std::vector<Pending>> Waiting(bool include_failed)
      ABSL_LOCKS_EXCLUDED(session_.mu);
  // Records a delivery's outcome: accepted, or kept/taken out as Attempt says.
  absl::StatusOr<SendResult> RecordOutcome(const Pending& pending, bool keep_refused,
                                           const absl::StatusOr<v1::SendResponse>& response)
      ABSL_LOCKS_EXCLUDED(session_.mu);
  // Delivery::on_encrypted for a recorded message: keeps the request in
  // `unsent` (which must outlive the delivery) and in the store, so a retry
  // after a crash sends the same bytes.
  std::function<absl::Status(const v1::SendRequest&)> KeepRequest(const std::string& message_id,
                                                                  UnsentMessage& unsent);
  absl::StatusOr<SendResult> RecordAccepted(const Pending& pending,
                                            const v1::SendResponse& response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(session_.mu);
  absl::Status RecordFailure(const Pending& pending, const absl::Status& failure, bool keep_refused)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(session_.mu);
  // Ends a call's claim on a message whose record may still be in kUnsent
  // (an error path, or kept to be retried): Waiting must look again.
  void ReleaseKept(const std::string& message_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(session_.mu);

  ProfileSession& session_;
  OwnDevices& own_devices_;
  // Message ids some call is sending right now: a second caller leaves them
  // alone (two encryptions of one message would differ, and the server
  // refuses a reused id with other bytes).
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(session_.mu);
  // Whether kUnsent may hold a kNotSent (resp. kFailed) message that no call
  // is sending. Every Send asks Waiting first; scanning kUnsent each time
  // walked past the deletion marker of every message sent since the last
  // flush of the store, and a loop of N sends cost O(N^2) (issue 21: 3.4 ms
  // of CPU a send at 2,000, 1.8 ms at 1,000). True at first: the profile
  // may have kept some from an earlier session.
  bool may_hold_not_sent_ ABSL_GUARDED_BY(session_.mu) = true;
  bool may_hold_failed_ ABSL_GUARDED_BY(session_.mu) = true;
};

// Whether a send that failed with `status` may succeed later unchanged (the
// server was unreachable, busy, or the profile locked meanwhile).
bool WorthRetrying(const absl::Status& status);

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_OUTGOING_SENDER_H_
