#ifndef SOTTO_CLI_DESK_EVENTS_H_
#define SOTTO_CLI_DESK_EVENTS_H_

// Live updates for the page (GET /api/events, docs/DESK.md): one
// Client::Listen on a thread of its own (Listener) publishes into an
// EventHub, which hands each event to every open event stream.

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "session.h"

namespace sotto::desk {

// Fan-out of server-sent events. Thread-safe.
class EventHub {
 public:
  // One open event stream: the frames published since it last took them.
  struct Subscriber {
    std::string pending;
    bool closed = false;
  };

  EventHub() = default;
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  std::shared_ptr<Subscriber> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscriber>& subscriber);

  // Queues "event: NAME\ndata: DATA\n\n" for every subscriber. `data` is one
  // JSON document (line breaks in it are dropped: SSE data is one line). A
  // subscriber more than 4 MiB behind is closed (the page reconnects and
  // refetches) rather than kept growing.
  void Publish(absl::string_view name, absl::string_view data);

  // Waits up to `timeout` for frames for `subscriber` and takes them: empty
  // after a quiet `timeout` (time for a ping), nullopt once the subscriber
  // or the hub was closed.
  std::optional<std::string> Next(Subscriber& subscriber, absl::Duration timeout);

  // Ends every stream (the desk is stopping).
  void Close();

 private:
  absl::Mutex mu_;
  std::list<std::shared_ptr<Subscriber>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// Runs Client::Listen while the session is open and turns what it reports
// into events: `message`, `receipt`, `identity`, `queue` (therapists, after
// a message), and `locked`/`unlocked` on every change of state (also the
// Client's own auto-lock, which ends the Listen). A Listen that fails (the
// server went away) is started again after 1 s, doubling to 30 s.
class Listener {
 public:
  Listener(Session& session, EventHub& hub);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();  // Stop()

  void Start();
  // Ends the Listen and the thread; idempotent.
  void Stop();

  // The session changed state (Session::set_on_change): publishes
  // locked/unlocked once per change and wakes the thread.
  void StateChanged(DeskState state);

 private:
  void Run();
  // Waits until the session is open (or Stop); false on Stop.
  bool AwaitOpen();
  // Sleeps `delay` unless woken by Stop or a change of state.
  void Backoff(absl::Duration delay);

  Session& session_;
  EventHub& hub_;
  std::thread thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<DeskState> published_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_EVENTS_H_
