#include "server/app/audit_head_reporter.h"

#include <utility>

namespace sotto::server {

AuditHeadReporter::AuditHeadReporter(AuditLog* log, absl::Duration interval,
                                     std::function<void(const std::string&)> print)
    : log_(log), interval_(interval), print_(std::move(print)) {}

AuditHeadReporter::~AuditHeadReporter() { Stop(); }

void AuditHeadReporter::Start() {
  Report(/*always=*/true);
  absl::MutexLock lock(&mu_);
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void AuditHeadReporter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stop_) return;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Report(/*always=*/true);
}

void AuditHeadReporter::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
      if (stop_) return;
    }
    Report(/*always=*/false);
  }
}

void AuditHeadReporter::Report(bool always) {
  std::string line = "audit head " + FormatAuditHead(log_->Head());
  {
    absl::MutexLock lock(&mu_);
    if (!always && line == last_printed_) return;
    last_printed_ = line;
  }
  print_(line);
}

}  // namespace sotto::server
