#include "server/storage/error_log.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sotto/log.h"

namespace sotto::server {

StorageErrorLog::StorageErrorLog(Sink sink, absl::Duration window)
    : sink_(std::move(sink)), window_(window) {}

std::string StorageErrorLog::OneLine(absl::string_view detail) {
  std::string out;
  for (size_t i = 0; i < detail.size(); ++i) {
    const char c = detail[i];
    if (c == '\n' || c == '\r') {
      // A continuation line (libpq indents them with a tab) joins with a
      // space, a new message with "; ".
      const bool continuation = i + 1 < detail.size() && detail[i + 1] == '\t';
      while (!out.empty() && out.back() == ' ') out.pop_back();
      if (!out.empty() && i + 1 < detail.size()) out += continuation ? " " : "; ";
    } else if (c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

void StorageErrorLog::Add(absl::string_view what, absl::string_view detail, absl::Time now) {
  Flush(now);
  std::string line = absl::StrCat(what, ": ", OneLine(detail));
  {
    absl::MutexLock lock(&mu_);
    if (now < window_end_) {
      ++left_out_;
      latest_ = std::move(line);
      return;
    }
    window_start_ = now;
    window_end_ = now + window_;
  }
  sink_("storage error: " + line);
}

void StorageErrorLog::Flush(absl::Time now) {
  std::string summary;
  {
    absl::MutexLock lock(&mu_);
    if (left_out_ == 0 || now < window_end_) return;
    summary = absl::StrCat("storage error: ", left_out_, " more storage error",
                           left_out_ == 1 ? "" : "s", " in the last ",
                           absl::ToInt64Seconds(now - window_start_ + absl::Milliseconds(500)),
                           " s; the latest: ", latest_);
    left_out_ = 0;
    latest_.clear();
    // The outage may go on: the next window's errors make the next summary.
    window_start_ = now;
    window_end_ = now + window_;
  }
  sink_(summary);
}

absl::Time StorageErrorLog::AwaitSummaryDue(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(
                            +[](uint64_t* left_out) { return *left_out > 0; }, &left_out_),
                        deadline);
  return left_out_ > 0 ? window_end_ : absl::InfiniteFuture();
}

void LogStorageError(absl::string_view what, absl::string_view detail) {
  // Never destroyed: the thread that writes summaries on time runs until
  // the process exits.
  static StorageErrorLog* const errors = [] {
    auto* log = new StorageErrorLog([](const std::string& line) { log::Error(line); });
    std::thread([log] {
      while (true) {
        const absl::Time due = log->AwaitSummaryDue(absl::InfiniteFuture());
        if (due > absl::Now()) absl::SleepFor(due - absl::Now());
        log->Flush(absl::Now());
      }
    }).detach();
    return log;
  }();
  errors->Add(what, detail, absl::Now());
}

}  // namespace sotto::server
