#ifndef SOTTO_SERVER_STORAGE_POSTGRES_QUEUE_BUS_H_
#define SOTTO_SERVER_STORAGE_POSTGRES_QUEUE_BUS_H_

// QueueBus over PostgreSQL's LISTEN/NOTIFY: a Send acknowledged by one
// sotto-server node wakes the Subscribe streams that other nodes hold.
//
//   Publish   queues the key; a publisher thread sends what has queued up
//             (one NOTIFY per distinct key, all in one round trip) on its
//             own connection. The payload is the queue key in hex: a
//             recipient handle and device number, never content.
//   Receive   one listening connection per node (LISTEN sotto_queue), a
//             thread blocked in poll() on its socket. Notifications that
//             this node's publisher sent are skipped (its listeners were
//             woken directly).
//   Loss      NOTIFY is not queued for a disconnected listener: after the
//             listening connection comes back (backoff 50 ms doubling to
//             2 s) the bus calls on_gap, and every local stream reads its
//             queue once, so nothing sent meanwhile waits for a Fetch. TCP
//             keepalives (5 s idle, 3 probes 2 s apart) notice a database
//             host that vanished without closing the connection. A
//             publisher that loses its connection keeps the keys and sends
//             them once it has reconnected.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/storage/queue_bus.h"

namespace sotto::server {

struct PostgresQueueBusOptions {
  // The NOTIFY channel; every node on one database must use the same.
  std::string channel = "sotto_queue";
  // Reconnect backoff of the listening and publishing connections.
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

// Connects the listening connection (LISTEN done before this returns, so a
// Publish by any node after it wakes this one) and starts both threads.
// Errors: UNAVAILABLE naming the URL without its password when the database
// cannot be reached. `handlers` run on the listening thread until the bus
// is destroyed (which joins both threads; keys not yet sent are dropped).
absl::StatusOr<std::unique_ptr<QueueBus>> StartPostgresQueueBus(
    const std::string& url, QueueBus::Handlers handlers,
    const PostgresQueueBusOptions& options = {});

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_POSTGRES_QUEUE_BUS_H_
