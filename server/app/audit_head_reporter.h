#ifndef SOTTO_SERVER_APP_AUDIT_HEAD_REPORTER_H_
#define SOTTO_SERVER_APP_AUDIT_HEAD_REPORTER_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/domain/audit_log.h"

namespace sotto::server {

// Exports the audit chain's head to the operator's log, where a log
// shipper can carry it to a second system the server cannot write: a head
// kept there turns truncating or rolling back the chain, and rewriting it
// even with the key, into a detectable break up to that head
// (`sotto-server audit --verify --expect-head SEQ:HEX`).
//
// Prints "audit head SEQ:HEX" through `print` on Start, every `interval`
// if the head moved, and on Stop. Thread-safe. Does not own `log`.
class AuditHeadReporter {
 public:
  AuditHeadReporter(AuditLog* log, absl::Duration interval,
                    std::function<void(const std::string&)> print);
  AuditHeadReporter(const AuditHeadReporter&) = delete;
  AuditHeadReporter& operator=(const AuditHeadReporter&) = delete;
  // Stops if running.
  ~AuditHeadReporter();

  // Prints the head and starts the thread. Call once.
  void Start();
  // Stops and joins the thread, then prints the head a last time.
  // Idempotent.
  void Stop();

 private:
  void Run();
  void Report(bool always);

  AuditLog* const log_;
  const absl::Duration interval_;
  const std::function<void(const std::string&)> print_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_printed_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_APP_AUDIT_HEAD_REPORTER_H_
