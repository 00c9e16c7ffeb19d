#ifndef SOTTO_SERVER_RPC_QUEUE_SERVICE_H_
#define SOTTO_SERVER_RPC_QUEUE_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/conversation_queue.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/care.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Queue: the therapist's queue. Does not own its arguments, which
// must outlive the server.
class QueueService final : public sotto::v1::Queue::CallbackService {
 public:
  QueueService(CallGate* gate, ConversationQueue* queue)
      : gate_(gate), accounts_(&gate->accounts()), queue_(queue) {}
  QueueService(const QueueService&) = delete;
  QueueService& operator=(const QueueService&) = delete;

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const sotto::v1::ListQueueRequest* request,
                                 sotto::v1::ListQueueResponse* response) override;
  grpc::ServerUnaryReactor* Snooze(grpc::CallbackServerContext* context,
                                   const sotto::v1::SnoozeRequest* request,
                                   sotto::v1::QueueEntry* response) override;
  grpc::ServerUnaryReactor* Close(grpc::CallbackServerContext* context,
                                  const sotto::v1::CloseRequest* request,
                                  sotto::v1::QueueEntry* response) override;
  grpc::ServerUnaryReactor* Claim(grpc::CallbackServerContext* context,
                                  const sotto::v1::ClaimRequest* request,
                                  sotto::v1::QueueEntry* response) override;

 private:
  CallGate* const gate_;
  Accounts* const accounts_;
  ConversationQueue* const queue_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_QUEUE_SERVICE_H_
