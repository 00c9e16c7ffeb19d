#include "receipt_flusher.h"

namespace sotto::desk {

ReceiptFlusher::~ReceiptFlusher() { Stop(); }

void ReceiptFlusher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ReceiptFlusher::Kick() {
  absl::MutexLock lock(&mu_);
  kicked_ = true;
}

void ReceiptFlusher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ReceiptFlusher::Run() {
  // Sending receipts follows a read; it is not itself the person's activity.
  Client::BackgroundCalls background;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return kicked_ || stopping_; };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      kicked_ = false;
    }
    // Locked meanwhile: the receipts stay queued for the next Listen.
    if (absl::StatusOr<Client*> client = session_.OpenClient(); client.ok()) {
      (*client)->SendPendingReceipts().IgnoreError();
    }
  }
}

}  // namespace sotto::desk
