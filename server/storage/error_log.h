#ifndef SOTTO_SERVER_STORAGE_ERROR_LOG_H_
#define SOTTO_SERVER_STORAGE_ERROR_LOG_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sotto::server {

// Logs a storage error that failed a request or a background task, as an
// operator in the middle of an outage wants to read it: a dead disk or
// database fails every request, and a line each would bury the log (and
// the disk it is on). So: the first error in full,
//   "storage error: WHAT: DETAIL"
// then nothing per error while they go on, but every 10 s one line
//   "storage error: N more storage errors in the last 10 s; the latest: WHAT: DETAIL"
// and after 10 s without one, the next is logged in full again. DETAIL is
// made one line (libpq's messages span several: "...\n\tIs the server
// running...?\n"); it may name hosts, tables, files or SQL: it goes to the
// server's log only, never to a client. Thread-safe.
void LogStorageError(absl::string_view what, absl::string_view detail);

// The policy behind LogStorageError, with its output and its clock given
// (tests drive it with a fake time). Thread-safe.
class StorageErrorLog {
 public:
  using Sink = std::function<void(const std::string& line)>;

  explicit StorageErrorLog(Sink sink, absl::Duration window = absl::Seconds(10));

  // An error at `now`: written in full, or counted into the next summary.
  void Add(absl::string_view what, absl::string_view detail, absl::Time now);
  // Writes the summary of the errors left out, if their window has ended
  // by `now`.
  void Flush(absl::Time now);
  // Blocks until a summary is due (errors were left out and their window
  // ends), or until `deadline`; returns when it is due (InfiniteFuture if
  // none). For the thread that writes summaries on time.
  absl::Time AwaitSummaryDue(absl::Time deadline);

  // `detail` on one line: newlines and tabs folded into "; " and " ".
  static std::string OneLine(absl::string_view detail);

 private:
  const Sink sink_;
  const absl::Duration window_;
  absl::Mutex mu_;
  // The current window: errors until its end are left out of the log.
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time window_end_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t left_out_ ABSL_GUARDED_BY(mu_) = 0;
  std::string latest_ ABSL_GUARDED_BY(mu_);  // "WHAT: DETAIL" of the last left out
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_ERROR_LOG_H_
