#include "server/rpc/operator_service.h"

#include "server/rpc/status_mapping.h"

namespace sotto::server::rpc {

grpc::ServerUnaryReactor* OperatorService::EnrolTherapist(
    grpc::CallbackServerContext* context, const sotto::v1::EnrolTherapistRequest* request,
    sotto::v1::EnrolTherapistResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<IssuedCode> code =
      enrolment_->IssueTherapistCode(request->handle(), request->valid_hours());
  if (code.ok()) {
    response->set_code(code->code);
    response->set_expires_at_ms(code->expires_at_ms);
  }
  reactor->Finish(ToGrpcStatus(code.status()));
  return reactor;
}

}  // namespace sotto::server::rpc
