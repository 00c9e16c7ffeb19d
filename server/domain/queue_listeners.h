#ifndef SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_
#define SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/types.h"
#include "server/storage/queue_bus.h"

namespace sotto::server {

// Who waits to hear that a device queue grew (the mailbox's subscribers),
// keyed by the queue's key prefix (keys::QueuePrefix). Thread-safe.
//
// One node (RocksDB): Notify runs this process's listeners, and that is
// all. Several nodes on one database (PostgreSQL): ConnectBus adds a
// QueueBus, Notify also publishes the queue's key on it, and what other
// nodes publish wakes the listeners here (with no envelope: they read the
// queue).
class QueueListeners {
 public:
  using Id = uint64_t;
  // Called with the envelope added, or null when the caller does not say
  // (read the queue). The pointer is valid only during the call.
  using OnNew = std::function<void(const StoredEnvelope* added)>;

  QueueListeners() = default;
  QueueListeners(const QueueListeners&) = delete;
  QueueListeners& operator=(const QueueListeners&) = delete;
  // Stops the bus (joining its threads) before the listeners go.
  ~QueueListeners();

  // What a QueueBus built for these listeners must call: a key another node
  // published wakes that queue's listeners; a gap wakes every listener.
  QueueBus::Handlers BusHandlers();
  // From now on Notify also publishes on `bus`, which these listeners own.
  // Call once, before the first Notify (at start, before serving).
  void ConnectBus(std::unique_ptr<QueueBus> bus);

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
  // were added, then tells the other nodes (ConnectBus), if any.
  void Notify(absl::string_view queue_prefix, const StoredEnvelope* added);
  // Runs every listener once with no envelope (each reads its queue).
  void WakeAll();

 private:
  // Runs the listeners of one queue here only.
  void NotifyLocal(absl::string_view queue_prefix, const StoredEnvelope* added);

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
  // Set once before serving (ConnectBus), then only read.
  std::unique_ptr<QueueBus> bus_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_QUEUE_LISTENERS_H_
