#ifndef SOTTO_SERVER_STORAGE_QUEUE_BUS_H_
#define SOTTO_SERVER_STORAGE_QUEUE_BUS_H_

#include <functional>

#include "absl/strings/string_view.h"

namespace sotto::server {

// Wake-ups between the sotto-server nodes that serve one database: "the
// queue under this key grew", so a Subscribe stream held by one node hears
// of a Send acknowledged by another (issue 17). It carries only the queue's
// key (recipient handle and device), never an envelope or anything of its
// content; a node woken reads the queue from the store.
//
// One node alone (RocksDB) needs no bus: its Sends wake its own listeners
// directly (QueueListeners). PostgresQueueBus (postgres_queue_bus.h) is the
// one for PostgreSQL (LISTEN/NOTIFY).
class QueueBus {
 public:
  // What a bus calls on the node that receives, on its own thread. Both
  // must be quick (they wake streams; they do not read the queue).
  struct Handlers {
    // Another node grew the queue under `queue_key` (keys::QueuePrefix).
    std::function<void(absl::string_view queue_key)> on_wake;
    // Wake-ups may have been lost (the bus was disconnected for a while):
    // every local listener should read its queue once.
    std::function<void()> on_gap;
  };

  virtual ~QueueBus() = default;

  // Tells the other nodes that the queue under `queue_key` grew. Called
  // after the growth is stored; never blocks on the network (a bus sends
  // in the background and may merge repeats of one key). Thread-safe.
  virtual void Publish(absl::string_view queue_key) = 0;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_QUEUE_BUS_H_
