#ifndef SOTTO_SERVER_RPC_MESSAGES_SERVICE_H_
#define SOTTO_SERVER_RPC_MESSAGES_SERVICE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/accounts.h"
#include "server/domain/mailbox.h"
#include "server/rpc/call_gate.h"
#include "server/rpc/server_stats.h"
#include "sotto/v1/messages.grpc.pb.h"

namespace sotto::server::rpc {

// Envelopes a Subscribe stream reads from its queue at a time, and the most
// it buffers: a stream whose client stops reading holds no more than this.
inline constexpr uint32_t kSubscribePage = 100;

// What a Subscribe stream does when a Send (or a release) says its queue
// grew: stream the envelope the Send reported without reading the queue
// back, only if it is the next seq after everything the stream has read and
// there is room to buffer it; skip it if a read already found it; otherwise
// read the queue. `added_seq`: the reported envelope's seq (nullopt: none
// reported); `last_read_seq`: the last seq the stream read or buffered;
// `read_due`: a read of the queue is due anyway (backlog, earlier gap);
// `buffered`: envelopes waiting to be written.
enum class QueueGrowthStep { kStreamReported, kReadQueue, kAlreadyRead };
QueueGrowthStep OnQueueGrowth(std::optional<uint64_t> added_seq, uint64_t last_read_seq,
                              bool read_due, size_t buffered);

// sotto.v1.Messages. Does not own its arguments, which must outlive the
// server (Subscribe streams hold mailbox listeners until they end). Sends
// and Acks are answered once the mailbox reports them durable (group
// commit: the store's syncer, which must keep running until the gRPC server
// has shut down). A device holds at most
// `max_streams_per_device` (at least 1) Subscribe streams; a newer one ends
// its oldest with ABORTED; a deactivated or deleted account's streams end
// (EndStreamsOf). With `send_on_pool` (a store whose writes are network
// round trips: PostgreSQL) Send runs on the server's BlockingPool instead of
// gRPC's callback thread, as the other unary handlers do.
class MessagesService final : public sotto::v1::Messages::CallbackService {
 public:
  MessagesService(CallGate* gate, Mailbox* mailbox, ServerStats* stats,
                  size_t max_streams_per_device, bool send_on_pool = false)
      : gate_(gate),
        accounts_(&gate->accounts()),
        mailbox_(mailbox),
        stats_(stats),
        max_streams_per_device_(std::max<size_t>(1, max_streams_per_device)),
        send_on_pool_(send_on_pool) {}
  MessagesService(const MessagesService&) = delete;
  MessagesService& operator=(const MessagesService&) = delete;

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const sotto::v1::SendRequest* request,
                                 sotto::v1::SendResponse* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const sotto::v1::FetchRequest* request,
                                  sotto::v1::FetchResponse* response) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const sotto::v1::AckRequest* request,
                                sotto::v1::AckResponse* response) override;
  grpc::ServerWriteReactor<sotto::v1::SubscribeEvent>* Subscribe(
      grpc::CallbackServerContext* context, const sotto::v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* CancelScheduled(grpc::CallbackServerContext* context,
                                            const sotto::v1::CancelScheduledRequest* request,
                                            sotto::v1::CancelScheduledResponse* response) override;

  // Ends every open Subscribe stream of `handle`'s devices with
  // UNAUTHENTICATED saying why (the account was deactivated or deleted):
  // the server's Accounts closed listener. Safe on any thread.
  void EndStreamsOf(absl::string_view handle, Accounts::Closed why);

  // Ends every open Subscribe stream of device `device_id` of `handle` with
  // UNAUTHENTICATED (the device was removed): the server's Accounts
  // device-removed listener. Safe on any thread.
  void EndStreamsOfDevice(absl::string_view handle, uint32_t device_id);

  // Whether one of `handle`'s devices holds a Subscribe stream open now
  // (the notifier mails nobody who is reading live). Walks the open
  // streams: for occasional use, not per message. Safe on any thread.
  bool HasOpenStream(absl::string_view handle);

 private:
  class SubscribeReactor;

  // Send's work after the handler: authenticate, limit, hand to the mailbox.
  void StartSend(grpc::CallbackServerContext* context, const sotto::v1::SendRequest* request,
                 sotto::v1::SendResponse* response, grpc::ServerUnaryReactor* reactor);
  // Finishes a Send with `result` (Mailbox::Send's completion), counting it.
  void FinishSend(grpc::ServerUnaryReactor* reactor, int envelopes,
                  const absl::StatusOr<SendResult>& result, sotto::v1::SendResponse* response);

  // The status a stream of a closed account ends with.
  static grpc::Status StreamEnd(absl::string_view handle, Accounts::Closed why);
  // That status if `device`'s account is deleted or deactivated now, or
  // DeviceRemovedEnd if the device was removed; else nullopt
  // (also when the store cannot say: the stream goes on, as before).
  std::optional<grpc::Status> ClosedStatus(const AuthenticatedDevice& device);
  // The status a removed device's stream ends with.
  static grpc::Status DeviceRemovedEnd(absl::string_view handle, uint32_t device_id);

  // Records `stream` as its device's newest. Returns the device's oldest
  // stream if that makes one too many: taken off the record and pinned
  // (SubscribeReactor::Ref), for the caller to end and then Unref.
  SubscribeReactor* AddStream(SubscribeReactor* stream);
  // Takes `stream` off the record (from its OnDone); a no-op if AddStream
  // already did.
  void RemoveStream(SubscribeReactor* stream);

  CallGate* const gate_;
  Accounts* const accounts_;
  Mailbox* const mailbox_;
  ServerStats* const stats_;
  const size_t max_streams_per_device_;
  const bool send_on_pool_;

  absl::Mutex streams_mu_;
  // Open Subscribe streams by "handle.device", oldest first (a few each:
  // inline, so 10,000 devices on one stream each cost under 1 MiB here).
  absl::flat_hash_map<std::string, absl::InlinedVector<SubscribeReactor*, 4>> streams_
      ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_MESSAGES_SERVICE_H_
