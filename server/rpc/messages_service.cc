#include "server/rpc/messages_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/rpc/auth.h"
#include "server/rpc/convert.h"
#include "server/rpc/status_mapping.h"
#include "server/rpc/unary.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {
namespace {

// A stream that ends at once with `status` (e.g. authentication failed).
class FailedWriteReactor final : public grpc::ServerWriteReactor<sotto::v1::SubscribeEvent> {
 public:
  explicit FailedWriteReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

QueueGrowthStep OnQueueGrowth(std::optional<uint64_t> added_seq, uint64_t last_read_seq,
                              bool read_due, size_t buffered) {
  if (!added_seq) return QueueGrowthStep::kReadQueue;
  if (*added_seq <= last_read_seq) return QueueGrowthStep::kAlreadyRead;
  // Everything before it has been read, so streaming it skips nothing.
  if (!read_due && *added_seq == last_read_seq + 1 && buffered < kSubscribePage) {
    return QueueGrowthStep::kStreamReported;
  }
  return QueueGrowthStep::kReadQueue;
}

// Streams one device's queue: backlog in pages, then `drained`, then new
// envelopes as the mailbox listener reports them. One write is in flight at a
// time; the next page is read from the store (after the last seq read) when
// the buffer runs dry. `drained` follows the first read that finds nothing
// more, so envelopes arriving while the backlog streams come before it. Once
// caught up, an envelope a Send reports with the next seq after the last one
// read is streamed as reported, without reading the queue back (a RocksDB
// iterator per delivery, on the log syncer's thread); any other report (a
// gap, a release, no envelope, a full buffer) means read the queue again
// (OnQueueGrowth). At most kSubscribePage envelopes are buffered per stream,
// however long its client stops reading. Finish is never called with mu_
// held, because OnDone (and `delete this`) may follow it on another thread.
class MessagesService::SubscribeReactor final
    : public grpc::ServerWriteReactor<sotto::v1::SubscribeEvent> {
 public:
  SubscribeReactor(MessagesService* service, AuthenticatedDevice caller)
      : service_(service),
        mailbox_(service->mailbox_),
        caller_(std::move(caller)),
        stats_(service->stats_) {
    ServerStats::Add(stats_->subscriptions_open, 1);
    // Register before the first read so nothing sent in between is missed.
    listener_id_ =
        mailbox_->AddListener(caller_.handle, caller_.device_id,
                              [this](const StoredEnvelope* added) { OnQueueGrew(added); });
    // Closed since our authentication: end before streaming anything.
    if (std::optional<grpc::Status> closed = service_->ClosedStatus(caller_)) {
      absl::MutexLock lock(&mu_);
      finish_ = *closed;
    }
    Step();
    // A stream that failed at once (its first read) replaces nobody.
    bool failed;
    {
      absl::MutexLock lock(&mu_);
      failed = finished_;
    }
    if (failed) return;
    if (SubscribeReactor* oldest = service_->AddStream(this)) {
      oldest->Replace(service_->max_streams_per_device_);
      oldest->Unref();
    }
    // Closed between the check above and AddStream: EndStreamsOf ran
    // before this stream was on the record, but the store already says so.
    if (std::optional<grpc::Status> closed = service_->ClosedStatus(caller_)) End(*closed);
  }

  const AuthenticatedDevice& caller() const { return caller_; }

  // Pins the reactor past OnDone until the matching Unref (so a stream
  // being replaced cannot be deleted under the one replacing it).
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Ends the stream with ABORTED: the same device opened a newer one, and
  // `limit` are open. Safe on any thread, before or after OnDone (pinned).
  void Replace(size_t limit) {
    if (End(grpc::Status(
            grpc::StatusCode::ABORTED,
            absl::StrCat("replaced: device ", caller_.handle, ".", caller_.device_id,
                         " opened a newer Subscribe stream, and a device keeps at most ", limit,
                         " open; the newer stream receives this device's envelopes")))) {
      ServerStats::Add(stats_->subscriptions_replaced, 1);
      metrics::CountRefusal("streams_per_device");
    }
  }

  // Ends the stream with `status` once the write in flight (if any) is
  // done; nothing more is streamed. False if it was already ending. Safe on
  // any thread, before or after OnDone (pinned).
  bool End(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finish_) return false;
      finish_ = status;
      pending_.clear();
    }
    Step();
    return true;
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream closed");
    }
    Step();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "subscription cancelled");
    }
    Step();
  }

  void OnDone() override {
    service_->RemoveStream(this);
    // After RemoveListener returns, OnQueueGrew is not running and never
    // will again, so deleting is safe (once no replacing stream pins us).
    mailbox_->RemoveListener(listener_id_);
    stats_->subscriptions_open.fetch_sub(1, std::memory_order_relaxed);
    Unref();
  }

 private:
  void OnQueueGrew(const StoredEnvelope* added) {
    {
      absl::MutexLock lock(&mu_);
      switch (OnQueueGrowth(added ? std::optional<uint64_t>(added->seq) : std::nullopt,
                            last_read_seq_, need_read_, pending_.size())) {
        case QueueGrowthStep::kStreamReported:
          last_read_seq_ = added->seq;
          pending_.push_back(*added);
          break;
        case QueueGrowthStep::kReadQueue:
          need_read_ = true;
          break;
        case QueueGrowthStep::kAlreadyRead:
          break;
      }
    }
    Step();
  }

  // Starts the next write, or Finishes, or does nothing if a write is in
  // flight or there is nothing to send.
  void Step() {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (!finish_ && pending_.empty() && need_read_) {
        need_read_ = false;
        absl::StatusOr<FetchResult> page = mailbox_->Fetch(caller_, last_read_seq_, kSubscribePage);
        if (!page.ok()) {
          finish_ = ToGrpcStatus(page.status());
        } else {
          for (StoredEnvelope& e : page->envelopes) {
            last_read_seq_ = e.seq;
            pending_.push_back(std::move(e));
          }
          if (page->more) need_read_ = true;
        }
      }
      if (finish_) {
        finished_ = true;
        finish = *finish_;
      } else if (!pending_.empty()) {
        event_.Clear();
        ToWire(pending_.front(), event_.mutable_envelope());
        pending_.pop_front();
        ServerStats::Add(stats_->envelopes_streamed, 1);
        writing_ = true;
        StartWrite(&event_);
        return;
      } else if (!drained_sent_ && !need_read_) {
        drained_sent_ = true;
        event_.Clear();
        event_.set_drained(true);
        writing_ = true;
        StartWrite(&event_);
        return;
      } else {
        return;  // Idle until OnQueueGrew.
      }
    }
    Finish(*finish);
  }

  MessagesService* const service_;
  Mailbox* const mailbox_;
  const AuthenticatedDevice caller_;
  ServerStats* const stats_;
  Mailbox::ListenerId listener_id_ = 0;
  // gRPC's reference, dropped in OnDone, plus one per Replace in progress.
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  sotto::v1::SubscribeEvent event_ ABSL_GUARDED_BY(mu_);  // the write in flight
  std::deque<StoredEnvelope> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t last_read_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool need_read_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool drained_sent_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerUnaryReactor* MessagesService::Send(grpc::CallbackServerContext* context,
                                                const sotto::v1::SendRequest* request,
                                                sotto::v1::SendResponse* response) {
  // Group commit: Send writes without waiting for the disk, and the mailbox
  // answers once the store's syncer has made it durable (acknowledging every
  // Send written before its fsync at once, and only then waking the
  // recipients' subscriptions). So Send runs here, on gRPC's thread, without
  // a hop to the pool: nothing it does waits for the disk. Only the syncer
  // fsyncs (every synced write of the server waits on it through
  // GroupCommitStore, so no RocksDB write group holds an fsync), and a
  // refused call's audit entry is written unsynced (CallGate::Audit). The
  // locks Send takes (mailbox stripes, a client's conversation lock) are
  // never held across a wait for the disk: whoever else takes them
  // (release, cancel, sweep, snooze/close/claim) writes unsynced under them
  // and syncs after letting go (DurabilityContractTest). What can still hold
  // it: RocksDB's own write stalls. Back-pressure: the mailbox refuses while
  // the store is backlogged (Store::Backlogged), then gRPC's flow control.
  // On PostgreSQL (send_on_pool_) every read and the write are network round
  // trips, so Send goes to the pool: gRPC has about one callback thread per
  // core, and Sends held on them waiting for the database left only a few
  // in flight to share each group commit (docs/BENCHMARKS.md, "PostgreSQL").
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!send_on_pool_) {
    StartSend(context, request, response, reactor);
    return reactor;
  }
  const bool queued = gate_->pool().TrySubmit([this, context, request, response, reactor] {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled before it ran"));
      return;
    }
    StartSend(context, request, response, reactor);
  });
  if (!queued) {
    metrics::CountRefusal("io_queue");
    FinishSend(reactor, request->envelopes_size(),
               absl::ResourceExhaustedError("server busy; retry"), response);
  }
  return reactor;
}

void MessagesService::StartSend(grpc::CallbackServerContext* context,
                                const sotto::v1::SendRequest* request,
                                sotto::v1::SendResponse* response,
                                grpc::ServerUnaryReactor* reactor) {
  const int envelope_count = request->envelopes_size();
  absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
  absl::Status allowed = caller.status();
  if (caller.ok()) {
    const std::string actor = AuditActor(*caller);
    allowed = gate_->Limit(gate_->limits().sends_per_device, actor, actor, caller->handle,
                           "sends_per_device", CallContext{PeerAddress(*context)});
  }
  if (!allowed.ok()) {
    FinishSend(reactor, envelope_count, allowed, response);
    return;
  }
  std::vector<OutgoingEnvelope> envelopes;
  envelopes.reserve(request->envelopes_size());
  for (const sotto::v1::OutgoingEnvelope& e : request->envelopes()) {
    envelopes.push_back(
        OutgoingEnvelope{e.device_id(), e.registration_id(), FromWire(e.type()), e.ciphertext()});
  }
  SendOptions options;
  options.kind = FromWire(request->kind());
  options.deliver_at_ms = request->deliver_at_ms();
  mailbox_->Send(*caller, request->recipient(), request->message_id(), envelopes, options,
                 [this, reactor, envelope_count, response](absl::StatusOr<SendResult> result) {
                   FinishSend(reactor, envelope_count, result, response);
                 });
}

void MessagesService::FinishSend(grpc::ServerUnaryReactor* reactor, int envelopes,
                                 const absl::StatusOr<SendResult>& result,
                                 sotto::v1::SendResponse* response) {
  if (!result.ok()) {
    const grpc::Status status = ToGrpcStatus(result.status());
    stats_->CountSendFailure(status.error_code());
    reactor->Finish(status);
    return;
  }
  response->set_server_time_ms(result->server_time_ms);
  response->set_duplicate(result->duplicate);
  response->set_deliver_at_ms(result->deliver_at_ms);
  if (result->expectation) {
    const ReplyExpectation& e = *result->expectation;
    sotto::v1::ReplyExpectation* out = response->mutable_expectation();
    out->set_due_ms(e.due_ms);
    out->set_reply_window_minutes(e.reply_window_minutes);
    out->set_away_note(e.away_note);
    out->set_away_until_ms(e.away_until_ms);
    out->set_emergency_note(e.emergency_note);
  }
  ServerStats::Add(stats_->sends_ok, 1);
  if (result->duplicate) {
    ServerStats::Add(stats_->sends_duplicate, 1);
  } else {
    ServerStats::Add(stats_->envelopes_accepted, envelopes);
  }
  reactor->Finish(grpc::Status::OK);
}

grpc::ServerUnaryReactor* MessagesService::Fetch(grpc::CallbackServerContext* context,
                                                 const sotto::v1::FetchRequest* request,
                                                 sotto::v1::FetchResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    absl::StatusOr<FetchResult> result =
        mailbox_->Fetch(*caller, request->after_seq(), request->limit());
    if (result.ok()) {
      for (const StoredEnvelope& e : result->envelopes) ToWire(e, response->add_envelopes());
      response->set_more(result->more);
      ServerStats::Add(stats_->envelopes_fetched, result->envelopes.size());
    }
    return ToGrpcStatus(result.status());
  });
}

grpc::ServerUnaryReactor* MessagesService::Ack(grpc::CallbackServerContext* context,
                                               const sotto::v1::AckRequest* request,
                                               sotto::v1::AckResponse* response) {
  // Group commit, as Send: the deletion is acknowledged after the log sync.
  return OffloadUnaryFinishing(context, gate_->pool(), [=](grpc::ServerUnaryReactor* reactor) {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      reactor->Finish(ToGrpcStatus(caller.status()));
      return;
    }
    std::vector<uint64_t> seqs(request->seqs().begin(), request->seqs().end());
    mailbox_->Ack(*caller, seqs, [this, reactor, response](absl::StatusOr<uint32_t> deleted) {
      if (!deleted.ok()) {
        reactor->Finish(ToGrpcStatus(deleted.status()));
        return;
      }
      response->set_deleted(*deleted);
      ServerStats::Add(stats_->envelopes_acked, *deleted);
      reactor->Finish(grpc::Status::OK);
    });
  });
}

grpc::ServerUnaryReactor* MessagesService::CancelScheduled(
    grpc::CallbackServerContext* context, const sotto::v1::CancelScheduledRequest* request,
    sotto::v1::CancelScheduledResponse*) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    return ToGrpcStatus(mailbox_->CancelScheduled(*caller, request->message_id()));
  });
}

grpc::ServerWriteReactor<sotto::v1::SubscribeEvent>* MessagesService::Subscribe(
    grpc::CallbackServerContext* context, const sotto::v1::SubscribeRequest*) {
  absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
  if (!caller.ok()) return new FailedWriteReactor(ToGrpcStatus(caller.status()));
  return new SubscribeReactor(this, *std::move(caller));
}

namespace {
std::string DeviceKey(const AuthenticatedDevice& device) {
  return absl::StrCat(device.handle, ".", device.device_id);
}
}  // namespace

MessagesService::SubscribeReactor* MessagesService::AddStream(SubscribeReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  auto& open = streams_[DeviceKey(stream->caller())];
  open.push_back(stream);
  if (open.size() <= max_streams_per_device_) return nullptr;
  SubscribeReactor* oldest = open.front();
  open.erase(open.begin());
  // Its OnDone needs streams_mu_ to take it off the record, so it cannot
  // have been deleted yet; pinned, it will not be until Unref.
  oldest->Ref();
  return oldest;
}

std::optional<grpc::Status> MessagesService::ClosedStatus(const AuthenticatedDevice& device) {
  const std::string& handle = device.handle;
  absl::StatusOr<std::optional<Role>> role = accounts_->RoleOf(handle);
  if (role.ok() && !role->has_value()) return StreamEnd(handle, Accounts::Closed::kDeleted);
  if (accounts_->CheckActive(handle).code() == absl::StatusCode::kFailedPrecondition) {
    return StreamEnd(handle, Accounts::Closed::kDeactivated);
  }
  absl::StatusOr<bool> present = accounts_->HasDevice(handle, device.device_id);
  if (present.ok() && !*present) return DeviceRemovedEnd(handle, device.device_id);
  return std::nullopt;
}

grpc::Status MessagesService::DeviceRemovedEnd(absl::string_view handle, uint32_t device_id) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      absl::StrCat("device ", handle, ".", device_id,
                                   " was removed from its account; stream ended"));
}

void MessagesService::EndStreamsOfDevice(absl::string_view handle, uint32_t device_id) {
  std::vector<SubscribeReactor*> ending;
  {
    absl::MutexLock lock(&streams_mu_);
    auto it = streams_.find(absl::StrCat(handle, ".", device_id));
    if (it != streams_.end()) {
      for (SubscribeReactor* stream : it->second) {
        // Pinned as in EndStreamsOf.
        stream->Ref();
        ending.push_back(stream);
      }
      streams_.erase(it);
    }
  }
  const grpc::Status status = DeviceRemovedEnd(handle, device_id);
  for (SubscribeReactor* stream : ending) {
    stream->End(status);
    stream->Unref();
  }
}

grpc::Status MessagesService::StreamEnd(absl::string_view handle, Accounts::Closed why) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      why == Accounts::Closed::kDeleted
                          ? absl::StrCat("account ", handle, " was deleted; stream ended")
                          : absl::StrCat("account ", handle,
                                         " is deactivated by the operator; stream ended; "
                                         "contact your provider"));
}

void MessagesService::EndStreamsOf(absl::string_view handle, Accounts::Closed why) {
  std::vector<SubscribeReactor*> ending;
  {
    absl::MutexLock lock(&streams_mu_);
    // Device keys are "handle.device" and a handle has no '.'.
    const std::string prefix = absl::StrCat(handle, ".");
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (!absl::StartsWith(it->first, prefix)) {
        ++it;
        continue;
      }
      for (SubscribeReactor* stream : it->second) {
        // Off the record, its OnDone cannot have run; pinned, it is not
        // deleted before Unref (as in AddStream).
        stream->Ref();
        ending.push_back(stream);
      }
      streams_.erase(it++);
    }
  }
  const grpc::Status status = StreamEnd(handle, why);
  for (SubscribeReactor* stream : ending) {
    stream->End(status);
    stream->Unref();
  }
}

bool MessagesService::HasOpenStream(absl::string_view handle) {
  absl::MutexLock lock(&streams_mu_);
  // Device keys are "handle.device" and a handle has no '.'.
  const std::string prefix = absl::StrCat(handle, ".");
  for (const auto& [device, open] : streams_) {
    if (!open.empty() && absl::StartsWith(device, prefix)) return true;
  }
  return false;
}

void MessagesService::RemoveStream(SubscribeReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  auto it = streams_.find(DeviceKey(stream->caller()));
  if (it == streams_.end()) return;
  auto& open = it->second;
  open.erase(std::remove(open.begin(), open.end(), stream), open.end());
  if (open.empty()) streams_.erase(it);
}

}  // namespace sotto::server::rpc
