#include "server/rpc/operator_service.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>

#include "server/app/backup.h"
#include "server/domain/user_list.h"
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

namespace sotto::server::rpc {

grpc::ServerUnaryReactor* OperatorService::ReadAudit(grpc::CallbackServerContext* context,
                                                     const sotto::v1::ReadAuditRequest* request,
                                                     sotto::v1::ReadAuditResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  constexpr uint32_t kDefaultPage = 1000;
  constexpr uint32_t kMaxPage = 10000;
  uint32_t limit = request->limit() == 0 ? kDefaultPage : std::min(request->limit(), kMaxPage);
  absl::StatusOr<std::vector<KeyValue>> rows = audit_->ReadRaw(request->after_seq(), limit);
  if (rows.ok()) {
    for (const KeyValue& row : *rows) {
      auto* e = response->add_entries();
      e->set_key(row.key);
      e->set_value(row.value);
    }
  }
  reactor->Finish(ToGrpcStatus(rows.status()));
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::DeactivateAccount(
    grpc::CallbackServerContext* context, const sotto::v1::AccountActionRequest* request,
    sotto::v1::AccountActionResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(accounts_->SetDeactivated(request->handle(), true)));
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::ReactivateAccount(
    grpc::CallbackServerContext* context, const sotto::v1::AccountActionRequest* request,
    sotto::v1::AccountActionResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(accounts_->SetDeactivated(request->handle(), false)));
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::Stats(grpc::CallbackServerContext* context,
                                                 const sotto::v1::StatsRequest*,
                                                 sotto::v1::StatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  stats_->Fill(*response);
  const DurabilityStats durability = durable_->durability_stats();
  response->set_log_syncs(durability.syncs);
  response->set_synced_calls(durability.synced_calls);
  response->set_log_sync_micros(durability.sync_total_micros);
  response->set_log_sync_max_micros(durability.sync_max_micros);
  response->set_log_syncs_over_10ms(durability.syncs_over_10ms);
  response->set_log_syncs_over_100ms(durability.syncs_over_100ms);
  response->set_pool_threads(pool_->threads());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::Checkpoint(grpc::CallbackServerContext* context,
                                                      const sotto::v1::CheckpointRequest*,
                                                      sotto::v1::CheckpointResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Absolute: the command that copies it out may run in another directory.
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(NewCheckpointDir(data_dir_), ec).string();
  absl::Status s = durable_->Checkpoint(dir);
  if (s.ok()) {
    response->set_dir(dir);
    response->set_audit_key_file(std::filesystem::absolute(key_files_.audit_key, ec).string());
    response->set_code_pepper_file(std::filesystem::absolute(key_files_.code_pepper, ec).string());
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::ListUsers(grpc::CallbackServerContext* context,
                                                     const sotto::v1::ListUsersRequest* request,
                                                     sotto::v1::ListUsersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  constexpr uint32_t kDefaultPage = 1000;
  constexpr uint32_t kMaxPage = 10000;
  uint32_t limit = request->limit() == 0 ? kDefaultPage : std::min(request->limit(), kMaxPage);
  absl::StatusOr<std::vector<UserSummary>> users =
      server::ListUsers(durable_, request->after_handle(), limit);
  if (users.ok()) {
    for (const UserSummary& u : *users) {
      auto* out = response->add_users();
      out->set_handle(u.handle);
      out->set_role(std::string(RoleName(u.role)));
      out->set_deactivated(u.deactivated);
      for (uint32_t id : u.device_ids) out->add_device_ids(id);
      if (std::optional<int64_t> hour = last_seen_->HourOf(u.handle)) {
        out->set_last_seen_hour_ms(*hour);
      }
    }
  }
  reactor->Finish(ToGrpcStatus(users.status()));
  return reactor;
}

}  // namespace sotto::server::rpc
