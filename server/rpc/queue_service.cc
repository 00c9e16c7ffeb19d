#include "server/rpc/queue_service.h"

#include "server/rpc/convert.h"
#include "server/rpc/unary.h"
#include "sotto/status_macros.h"

namespace sotto::server::rpc {
namespace {

void ToWire(const Conversation& in, sotto::v1::QueueEntry* out) {
  out->set_client(in.client);
  out->set_state(rpc::ToWire(in.state));
  out->set_oldest_waiting_ms(in.oldest_waiting_ms);
  out->set_waiting_count(in.waiting_count);
  out->set_last_reply_ms(in.last_reply_ms);
  out->set_snoozed_until_ms(in.snoozed_until_ms);
  out->set_due_ms(in.due_ms);
  out->set_overdue(in.overdue);
  out->set_claimed_by(in.claimed_by);
}

}  // namespace

grpc::ServerUnaryReactor* QueueService::List(grpc::CallbackServerContext* context,
                                             const sotto::v1::ListQueueRequest* request,
                                             sotto::v1::ListQueueResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(QueueList list, queue_->List(caller, request->include_all()));
        for (const Conversation& c : list.entries) ToWire(c, response->add_entries());
        response->set_now_ms(list.now_ms);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueueService::Snooze(grpc::CallbackServerContext* context,
                                               const sotto::v1::SnoozeRequest* request,
                                               sotto::v1::QueueEntry* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(Conversation c,
                               queue_->Snooze(caller, request->client(), request->until_ms()));
        ToWire(c, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueueService::Close(grpc::CallbackServerContext* context,
                                              const sotto::v1::CloseRequest* request,
                                              sotto::v1::QueueEntry* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(Conversation c, queue_->Close(caller, request->client()));
        ToWire(c, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueueService::Claim(grpc::CallbackServerContext* context,
                                              const sotto::v1::ClaimRequest* request,
                                              sotto::v1::QueueEntry* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(Conversation c, queue_->Claim(caller, request->client()));
        ToWire(c, response);
        return absl::OkStatus();
      });
}

}  // namespace sotto::server::rpc
