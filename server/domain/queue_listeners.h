#ifndef SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_
#define SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/types.h"

namespace sotto::server {

// Who waits to hear that a device queue grew (the mailbox's subscribers),
// keyed by the queue's key prefix (keys::QueuePrefix). Thread-safe.
class QueueListeners {
 public:
  using Id = uint64_t;
  // Called with the envelope added, or null when the caller does not say
  // (read the queue). The pointer is valid only during the call.
  using OnNew = std::function<void(const StoredEnvelope* added)>;

  QueueListeners() = default;
  QueueListeners(const QueueListeners&) = delete;
  QueueListeners& operator=(const QueueListeners&) = delete;

  // Registers `on_new` for the queue under `queue_prefix` until Remove.
  // `on_new` must be quick and must not call Add or Remove.
  Id Add(std::string queue_prefix, OnNew on_new);
  // After this returns, the listener is not running and will not run again.
  // Unknown ids are ignored.
  void Remove(Id id);
  // False without taking the lock when nobody listens to anything: the
  // common case for a Send, which asks once per envelope.
  bool Any() const { return count_.load(std::memory_order_relaxed) != 0; }
  // Whether anyone listens to the queue under `queue_prefix` now.
  bool Listened(absl::string_view queue_prefix);
  // Runs the listeners of the queue under `queue_prefix`, in the order they
  // were added.
  void Notify(absl::string_view queue_prefix, const StoredEnvelope* added);

 private:
  struct Listener {
    std::string queue_prefix;
    OnNew on_new;
  };
  // Held while listeners run, so Remove waits for a running one.
  absl::Mutex mu_;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<Id, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<Id>> by_queue_ ABSL_GUARDED_BY(mu_);
  // listeners_.size(), readable without the lock (Any).
  std::atomic<size_t> count_{0};
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_
