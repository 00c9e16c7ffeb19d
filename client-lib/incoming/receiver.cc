#include "client-lib/incoming/receiver.h"

#include <atomic>
#include <deque>
#include <future>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "absl/synchronization/notification.h"
#include "client-lib/keys/key_maintenance.h"
#include "client-lib/storage/deferred_sync.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

// The server's maximum (it also caps a page at 2 MiB). Sync of 10,000 queued,
// `sotto-bench cli-sync --backlogs 10000`: 2.77 s at 100 (twice), 2.51 s at 250,
// 1.94 s at 500, 1.62 and 2.53 s at 1000; and in CPU, which the machine's load
// moves less (`client-sync`, one run each): 35.2 us a message at 250, 31.0 at
// 1000 — a page's fixed costs (its write, manifest, Ack) spread over more
// (issue 21, docs/BENCHMARKS.md).
constexpr uint32_t kFetchBatch = 1000;

// Listen's watchdog: ends the stream once it has been idle for
// `idle_timeout` after the backlog (a blocking Read() has no timeout of its
// own), when the profile locks itself, or when the account was deleted.
// Time spent processing or in the app's callback is not idleness.
class Watchdog {
 public:
  Watchdog(ProfileSession& session, transport::Subscription& subscription,
           absl::Duration idle_timeout)
      : session_(session), subscription_(subscription), idle_timeout_(idle_timeout) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Watchdog() { Stop(); }

  void Stop() {
    if (!done_.HasBeenNotified()) done_.Notify();
    if (thread_.joinable()) thread_.join();
  }
  void Activity(bool drained) {
    absl::MutexLock lock(&mu_);
    last_activity_ = absl::Now();
    drained_ = drained_ || drained;
  }
  void Busy(bool busy) {
    absl::MutexLock lock(&mu_);
    busy_ = busy;
    last_activity_ = absl::Now();
  }
  bool timed_out() const { return timed_out_; }
  bool auto_locked() const { return auto_locked_; }

 private:
  void Run() {
    while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
      // HIPAA automatic log-off: no call from the app for too long.
      if (session_.AutoLockDue()) {
        auto_locked_ = true;
        subscription_.Cancel();
        return;
      }
      // DeleteAccount ran on another thread: nothing is left to listen for.
      if (session_.deleted_flag()) {
        subscription_.Cancel();
        return;
      }
      absl::MutexLock lock(&mu_);
      if (drained_ && !busy_ && absl::Now() - last_activity_ >= idle_timeout_) {
        timed_out_ = true;
        subscription_.Cancel();
        return;
      }
    }
  }

  ProfileSession& session_;
  transport::Subscription& subscription_;
  const absl::Duration idle_timeout_;
  absl::Mutex mu_;
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_) = absl::Now();
  bool drained_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> timed_out_{false};
  std::atomic<bool> auto_locked_{false};
  absl::Notification done_;
  std::thread thread_;
};

// Listen's reader: a thread that reads the stream into a queue, so that a
// burst that arrived while the last one was stored is taken as one batch
// (one disk sync, one Ack) rather than envelope by envelope (issue 21). It
// stops reading while two pages wait, so a slow app holds at most that
// much here; the server keeps the rest.
class StreamInbox {
 public:
  explicit StreamInbox(transport::Subscription& subscription) : subscription_(subscription) {
    thread_ = std::thread([this] { Run(); });
  }
  ~StreamInbox() { Join(); }
  StreamInbox(const StreamInbox&) = delete;
  StreamInbox& operator=(const StreamInbox&) = delete;

  // Blocks until an event has arrived or the stream ended; returns up to
  // `max` events in stream order (none: the stream ended).
  std::vector<v1::SubscribeEvent> Take(size_t max) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &StreamInbox::Readable));
    std::vector<v1::SubscribeEvent> out;
    while (!events_.empty() && out.size() < max) {
      out.push_back(std::move(events_.front()));
      events_.pop_front();
    }
    return out;
  }
  // Once the stream ended or was cancelled (a reader waiting for room
  // stops too).
  void Join() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool Readable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty() || ended_; }
  bool Room() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || events_.size() < 2 * kFetchBatch;
  }
  void Run() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &StreamInbox::Room));
        if (stopping_) return;
      }
      std::optional<v1::SubscribeEvent> event = subscription_.Read();
      absl::MutexLock lock(&mu_);
      if (!event) {
        ended_ = true;
        return;
      }
      events_.push_back(std::move(*event));
    }
  }

  transport::Subscription& subscription_;
  absl::Mutex mu_;
  std::deque<v1::SubscribeEvent> events_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<SyncStats> Receiver::Sync() {
  SOTTO_RETURN_IF_ERROR(session_.Check());
  absl::MutexLock syncing(&syncing_);
  SyncStats stats;
  SOTTO_ASSIGN_OR_RETURN(v1::FetchResponse batch, session_.connection().Fetch(0, kFetchBatch));
  while (!batch.envelopes().empty()) {
    // The next page is fetched while this one is decrypted and stored (a
    // Fetch does not acknowledge anything, so fetching early is free). On
    // loopback it saves nothing measurable (10,000 queued: 0.81 s with it,
    // 0.61 s without, the same 31 us of CPU a message, one run each at load
    // 8); kept for a real network, where a Fetch of 1,000 costs a round trip.
    std::optional<std::future<absl::StatusOr<v1::FetchResponse>>> next;
    if (batch.more()) {
      const uint64_t last_seq = batch.envelopes(batch.envelopes_size() - 1).seq();
      next = std::async(std::launch::async, [this, last_seq] {
        return session_.connection().Fetch(last_seq, kFetchBatch);
      });
    }
    SOTTO_ASSIGN_OR_RETURN(std::vector<uint64_t> acks, StorePage(batch, stats));
    if (!acks.empty()) SOTTO_RETURN_IF_ERROR(session_.connection().Ack(acks).status());
    if (!next) break;
    SOTTO_ASSIGN_OR_RETURN(batch, next->get());
  }
  AfterReceiving(stats);
  return stats;
}

absl::StatusOr<std::vector<uint64_t>> Receiver::StorePage(const v1::FetchResponse& batch,
                                                          SyncStats& stats) {
  std::vector<uint64_t> acks;
  absl::MutexLock lock(&session_.mu);
  SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
  // Stored before acknowledged, with one sync of the disk for the page
  // rather than one per message (issue 21).
  storage::DeferredSync page(session_.store());
  PageReceipts receipts;
  absl::Status error;
  for (const v1::Envelope& envelope : batch.envelopes()) {
    absl::StatusOr<bool> ack = ProcessEnvelope(session_, envelope, stats, nullptr, receipts);
    if (!ack.ok()) {
      error = ack.status();
      break;
    }
    if (*ack) acks.push_back(envelope.seq());
  }
  // Also after an error: what the page stored before it stays stored.
  absl::Status queued = QueueReceipts(session_, receipts);
  SOTTO_RETURN_IF_ERROR(error);
  SOTTO_RETURN_IF_ERROR(queued);
  SOTTO_RETURN_IF_ERROR(page.Finish());
  return acks;
}

namespace {

// Calls the handler for one event; an empty handler goes on.
bool Show(const ListenEvent& event, const Client::ListenHandlers& handlers) {
  if (const auto* message = std::get_if<Message>(&event)) {
    return !handlers.on_message || handlers.on_message(*message);
  }
  if (const auto* receipt = std::get_if<ReceiptEvent>(&event)) {
    return !handlers.on_receipt || handlers.on_receipt(*receipt);
  }
  const auto& notice = std::get<IdentityNotice>(event);
  return !handlers.on_notice || handlers.on_notice(notice);
}

}  // namespace

void Receiver::AfterReceiving(SyncStats& stats) {
  receipts_.Flush();
  // A transcript means another device of ours exists, whatever was known.
  if (stats.transcripts > 0) {
    absl::MutexLock lock(&session_.mu);
    OwnDevices::Forget(session_);
  }
  own_devices_.Flush();
  absl::StatusOr<int> resent = sender_.RetryUnsent(/*include_failed=*/false);
  if (resent.ok()) stats.resent = *resent;
  if (absl::Status s = MaintainKeys(session_); !s.ok()) stats.maintenance_error = s.ToString();
}

absl::Status Receiver::StoreAndShow(const std::vector<v1::Envelope>& envelopes, bool backlog_done,
                                    SyncStats& stats, const Client::ListenHandlers& handlers,
                                    bool& stopped_by_caller) {
  if (envelopes.empty()) return absl::OkStatus();
  std::vector<uint64_t> acks;
  std::vector<ListenEvent> shown;
  bool any_message = false;
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
    // Stored before acknowledged, one disk sync for the burst.
    storage::DeferredSync burst(session_.store());
    PageReceipts receipts;
    absl::Status error;
    for (const v1::Envelope& envelope : envelopes) {
      const size_t before = shown.size();
      absl::StatusOr<bool> ack = ProcessEnvelope(session_, envelope, stats, &shown, receipts);
      if (!ack.ok()) {
        error = ack.status();
        break;
      }
      if (*ack) acks.push_back(envelope.seq());
      if (shown.size() > before && std::holds_alternative<Message>(shown.back())) {
        any_message = true;
      }
    }
    // Also after an error: what the burst stored before it stays stored.
    absl::Status queued = QueueReceipts(session_, receipts);
    SOTTO_RETURN_IF_ERROR(error);
    SOTTO_RETURN_IF_ERROR(queued);
    SOTTO_RETURN_IF_ERROR(burst.Finish());
  }
  if (!acks.empty()) SOTTO_RETURN_IF_ERROR(session_.connection().Ack(acks).status());
  // A stop leaves the rest of the burst stored (in the history), unshown.
  for (const ListenEvent& event : shown) {
    if (!Show(event, handlers)) {
      stopped_by_caller = true;
      break;
    }
  }
  if (backlog_done && any_message) receipts_.Flush();
  return absl::OkStatus();
}

absl::StatusOr<SyncStats> Receiver::Listen(absl::Duration idle_timeout,
                                           const Client::ListenHandlers& handlers) {
  SOTTO_RETURN_IF_ERROR(session_.Check());
  SyncStats stats;
  std::unique_ptr<transport::Subscription> subscription = session_.connection().Subscribe();
  Watchdog watchdog(session_, *subscription, idle_timeout);

  StreamInbox inbox(*subscription);
  bool stopped_by_caller = false;
  bool backlog_done = false;
  absl::Status error;
  for (std::vector<v1::SubscribeEvent> events = inbox.Take(kFetchBatch); !events.empty();
       events = inbox.Take(kFetchBatch)) {
    watchdog.Busy(true);
    std::vector<v1::Envelope> burst;
    for (v1::SubscribeEvent& event : events) {
      watchdog.Activity(event.has_drained());
      if (event.has_envelope()) {
        burst.push_back(std::move(*event.mutable_envelope()));
        continue;
      }
      if (!event.has_drained()) continue;
      // The backlog ends here: what came before it is stored first, then
      // its receipts go out in one batch per sender; after that, with each
      // burst.
      error = StoreAndShow(burst, backlog_done, stats, handlers, stopped_by_caller);
      burst.clear();
      if (!error.ok() || stopped_by_caller) break;
      backlog_done = true;
      receipts_.Flush();
      // And what waited for our other devices (queued while offline).
      own_devices_.Flush();
    }
    if (error.ok() && !stopped_by_caller) {
      error = StoreAndShow(burst, backlog_done, stats, handlers, stopped_by_caller);
    }
    watchdog.Busy(false);
    if (!error.ok() || stopped_by_caller) break;
  }
  // The reader must be done before Finish: a stop of ours cancels the
  // stream (the watchdog cancels it on a time-out, lock or deletion).
  if (!error.ok() || stopped_by_caller) subscription->Cancel();
  watchdog.Stop();
  inbox.Join();
  {
    absl::MutexLock lock(&session_.mu);
    if (session_.deleted()) {
      subscription->Finish().IgnoreError();
      return session_.DeletedError();
    }
  }
  if (watchdog.auto_locked()) {
    subscription->Finish().IgnoreError();
    absl::MutexLock lock(&session_.mu);
    if (session_.CheckNotLocked().ok()) session_.LockHeld();
    return session_.LockedError();
  }
  if (!error.ok() || stopped_by_caller) {
    subscription->Cancel();
    subscription->Finish().IgnoreError();
  } else if (!watchdog.timed_out()) {
    // The stream ended on its own: the server went away or refused us.
    error = subscription->Finish();
    if (error.ok()) error = absl::UnavailableError("Subscribe: the server closed the stream");
  } else {
    subscription->Finish().IgnoreError();
  }
  if (!error.ok()) return error;
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
  }
  AfterReceiving(stats);
  return stats;
}

}  // namespace sotto::client
