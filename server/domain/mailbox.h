#ifndef SOTTO_SERVER_DOMAIN_MAILBOX_H_
#define SOTTO_SERVER_DOMAIN_MAILBOX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/accounts.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct MailboxOptions {
  // Per-device queue limit; tests lower it.
  uint64_t max_queue_depth = kMaxQueueDepth;
};

struct SendResult {
  int64_t server_time_ms = 0;
  bool duplicate = false;  // a retry of a send already stored
};

struct FetchResult {
  std::vector<StoredEnvelope> envelopes;  // ascending seq
  bool more = false;                      // more follow the last one
};

// Store-and-forward of ciphertext envelopes, one queue per device. The queue
// a call touches is always chosen from the authenticated caller, never from
// request data. Thread-safe. Does not own `store`, `accounts` or `clock`;
// they must outlive it.
class Mailbox {
 public:
  using ListenerId = uint64_t;

  Mailbox(Store* store, Accounts* accounts, Clock* clock,
          MailboxOptions options = {});
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues one envelope per device of `recipient`, stamped with the sender
  // and server time, together with the queue counters and the idempotency
  // record in one atomic synced write; returns only when it is durable.
  // A retry with the same (sender device, message_id) within
  // kIdempotencyRetentionMs returns the first result with duplicate=true and
  // queues nothing. Errors: INVALID_ARGUMENT (message id, envelope count,
  // type, ciphertext size, device listed twice, malformed recipient
  // handle), NOT_FOUND (no such recipient), FAILED_PRECONDITION with a DeviceMismatch payload
  // (device_mismatch.h), RESOURCE_EXHAUSTED (a queue is full; names it).
  absl::StatusOr<SendResult> Send(const AuthenticatedDevice& sender,
                                  absl::string_view recipient,
                                  absl::string_view message_id,
                                  const std::vector<OutgoingEnvelope>& envelopes);

  // Up to `limit` (0: kDefaultFetchBatch) envelopes of the caller's queue with
  // seq > after_seq, oldest first, and at most about kMaxFetchBytes.
  // Errors: INVALID_ARGUMENT (limit > kMaxFetchBatch).
  absl::StatusOr<FetchResult> Fetch(const AuthenticatedDevice& caller,
                                    uint64_t after_seq, uint32_t limit);

  // Deletes the listed envelopes from the caller's own queue; unknown seqs
  // are ignored. Returns how many were deleted. Errors: INVALID_ARGUMENT
  // (more than kMaxAckBatch seqs).
  absl::StatusOr<uint32_t> Ack(const AuthenticatedDevice& caller,
                               const std::vector<uint64_t>& seqs);

  // Calls `on_new` after each Send that adds to the queue of handle.device,
  // on the sending thread, until RemoveListener. `on_new` must be quick and
  // must not call Add/RemoveListener.
  ListenerId AddListener(absl::string_view handle, uint32_t device_id,
                         std::function<void()> on_new);
  // After this returns, the listener is not running and will not run again.
  void RemoveListener(ListenerId id);

 private:
  void Notify(const std::string& queue_prefix);

  Store* const store_;
  Accounts* const accounts_;
  Clock* const clock_;
  const MailboxOptions options_;
  // Serialises read-modify-write of queue meta (per recipient device) and of
  // idempotency records (per sender device).
  StripedMutex locks_;

  struct Listener {
    std::string queue_prefix;
    std::function<void()> on_new;
  };
  // Held while listeners run, so RemoveListener waits for a running one.
  absl::Mutex listeners_mu_;
  ListenerId next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  absl::flat_hash_map<ListenerId, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  absl::flat_hash_map<std::string, std::vector<ListenerId>> by_queue_
      ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_MAILBOX_H_
