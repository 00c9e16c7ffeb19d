#ifndef SOTTO_CLI_DESK_LINK_JOB_H_
#define SOTTO_CLI_DESK_LINK_JOB_H_

// Linking a new device from the page (Settings → Devices, docs/DESK.md):
// Client::LinkDevice blocks until the new device has answered (minutes, at
// most the code's 10), so it runs here on a thread of its own while the page
// waits; every step is published as a `link` event (the code and its QR
// first, then the stages), and GET /api/devices/link tells a page that
// (re)opened meanwhile where it stands. One linking at a time. Thread-safe.

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "events.h"
#include "session.h"

namespace sotto::desk {

class LinkJob {
 public:
  LinkJob(Session& session, EventHub& hub) : session_(session), hub_(hub) {}
  LinkJob(const LinkJob&) = delete;
  LinkJob& operator=(const LinkJob&) = delete;
  // Cancels a running linking and waits for its thread.
  ~LinkJob();

  // Starts linking on the open Client. ALREADY_EXISTS while one runs;
  // FAILED_PRECONDITION when locked.
  absl::Status Start();
  // Gives up a running linking (its slot on the server is closed); OK when
  // none runs.
  void Cancel();
  // {"stage", "code", "qr_svg", "expires_at_ms", "error"}: stage "none",
  // "starting", "waiting" (the code is shown), "sending_keys", "sent",
  // "failed" (error says why) or "cancelled". The code and QR only while
  // waiting: once used or given up they are dropped.
  std::string StatusJson();

 private:
  void Run(Client* client);
  // Sets the stage (and error), publishes the `link` event.
  void Moved(const char* stage, const std::string& error = "");
  std::string StatusJsonLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Session& session_;
  EventHub& hub_;
  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_ ABSL_GUARDED_BY(mu_) = false;
  std::string stage_ ABSL_GUARDED_BY(mu_) = "none";
  std::string code_ ABSL_GUARDED_BY(mu_);
  std::string qr_svg_ ABSL_GUARDED_BY(mu_);
  int64_t expires_at_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_LINK_JOB_H_
