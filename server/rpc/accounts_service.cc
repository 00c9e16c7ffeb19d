#include "server/rpc/accounts_service.h"

#include "server/rpc/auth.h"
#include "server/rpc/convert.h"
#include "server/rpc/status_mapping.h"
#include "server/rpc/unary.h"

namespace sotto::server::rpc {

grpc::ServerUnaryReactor* AccountsService::Register(grpc::CallbackServerContext* context,
                                                    const sotto::v1::RegisterRequest* request,
                                                    sotto::v1::RegisterResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    const CallContext call{PeerAddress(*context)};
    Registration reg;
    reg.handle = request->handle();
    reg.role = FromWire(request->role());
    reg.device_secret = request->device_secret();
    reg.registration_id = request->registration_id();
    reg.keys = FromWire(request->keys());
    // Successful registrations per address: only an account created takes a
    // token, so a caller without a valid code cannot spend a neighbour's.
    absl::Status allowed = gate_->Limit(gate_->limits().registration, call.source, "", reg.handle,
                                        "registration", call, /*take=*/false);
    if (!allowed.ok()) {
      return ToGrpcStatus(allowed);
    }
    const std::vector<std::string> attempt_keys = CodeAttemptKeys(call.source, reg.handle);
    absl::StatusOr<bool> over_budget = code_attempts_->Admit(attempt_keys);
    if (!over_budget.ok()) {
      return ToGrpcStatus(over_budget.status());
    }
    absl::StatusOr<RegisterResult> result =
        care_->Register(reg, request->enrolment_code(), request->invite_code(), call);
    if (!result.ok()) {
      // Every failure counts, whatever its kind: probing handles costs what
      // guessing codes does (issue 19). A malformed request keeps its own
      // answer (it depends on the request alone); any other failure past
      // the budget is told to stop.
      code_attempts_->RecordFailure(attempt_keys, *over_budget);
      if (*over_budget && result.status().code() != absl::StatusCode::kInvalidArgument) {
        return ToGrpcStatus(code_attempts_->Check(attempt_keys));
      }
      return ToGrpcStatus(result.status());
    }
    gate_->limits().registration.TakeIfAny(call.source);
    if (result.ok()) {
      response->set_device_id(result->device_id);
      response->set_linked_therapist(result->linked_therapist);
    }
    return ToGrpcStatus(result.status());
  });
}

grpc::ServerUnaryReactor* AccountsService::WhoAmI(grpc::CallbackServerContext* context,
                                                  const sotto::v1::WhoAmIRequest*,
                                                  sotto::v1::WhoAmIResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    absl::StatusOr<AccountInfo> info = accounts_->WhoAmI(*caller);
    if (info.ok()) {
      response->set_handle(info->handle);
      response->set_role(ToWire(info->role));
      response->set_device_id(caller->device_id);
      for (uint32_t d : info->device_ids) response->add_device_ids(d);
    }
    return ToGrpcStatus(info.status());
  });
}

grpc::ServerUnaryReactor* AccountsService::DeleteAccount(
    grpc::CallbackServerContext* context, const sotto::v1::DeleteAccountRequest* request,
    sotto::v1::DeleteAccountResponse*) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext& call) {
        if (request->confirm_handle() != caller.handle) {
          return absl::InvalidArgumentError(
              "confirm_handle must be the caller's own handle to delete the account");
        }
        return accounts_->DeleteAccount(caller, clock_->NowMillis(), call);
      });
}

}  // namespace sotto::server::rpc
