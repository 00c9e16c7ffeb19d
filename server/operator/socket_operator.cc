#include "server/operator/socket_operator.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"

namespace sotto::server {
namespace {

constexpr std::chrono::seconds kCallDeadline(10);
constexpr std::chrono::seconds kAuditPageDeadline(30);
constexpr uint32_t kAuditPage = 1000;

// grpc::StatusCode and absl::StatusCode are both google.rpc.Code.
absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

void SetDeadline(grpc::ClientContext& ctx, std::chrono::seconds after) {
  ctx.set_deadline(std::chrono::system_clock::now() + after);
}

}  // namespace

SocketOperator::SocketOperator(std::shared_ptr<grpc::Channel> channel, std::string data_dir)
    : stub_(sotto::v1::Operator::NewStub(std::move(channel))), data_dir_(std::move(data_dir)) {}

absl::StatusOr<IssuedCode> SocketOperator::IssueEnrolmentCode(const std::string& handle,
                                                              uint32_t valid_hours) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, kCallDeadline);
  sotto::v1::EnrolTherapistRequest req;
  req.set_handle(handle);
  req.set_valid_hours(valid_hours);
  sotto::v1::EnrolTherapistResponse resp;
  absl::Status s = FromGrpc(stub_->EnrolTherapist(&ctx, req, &resp));
  if (!s.ok()) return s;
  return IssuedCode{resp.code(), resp.expires_at_ms()};
}

absl::Status SocketOperator::SetDeactivated(const std::string& handle, bool deactivated) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, kCallDeadline);
  sotto::v1::AccountActionRequest req;
  req.set_handle(handle);
  sotto::v1::AccountActionResponse resp;
  return FromGrpc(deactivated ? stub_->DeactivateAccount(&ctx, req, &resp)
                              : stub_->ReactivateAccount(&ctx, req, &resp));
}

absl::StatusOr<sotto::v1::StatsResponse> SocketOperator::Stats() {
  grpc::ClientContext ctx;
  SetDeadline(ctx, kCallDeadline);
  sotto::v1::StatsResponse resp;
  grpc::Status s = stub_->Stats(&ctx, sotto::v1::StatsRequest(), &resp);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the server on ", data_dir_, " did not answer: ", s.error_message()));
  }
  return resp;
}

absl::Status SocketOperator::ForEachAuditEntry(
    const std::function<absl::Status(const KeyValue&)>& fn) {
  uint64_t after = 0;
  while (true) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, kAuditPageDeadline);
    sotto::v1::ReadAuditRequest req;
    req.set_after_seq(after);
    req.set_limit(kAuditPage);
    sotto::v1::ReadAuditResponse resp;
    absl::Status s = FromGrpc(stub_->ReadAudit(&ctx, req, &resp));
    if (!s.ok()) return s;
    for (const auto& e : resp.entries()) {
      s = fn(KeyValue{e.key(), e.value()});
      if (!s.ok()) return s;
      // Pages continue after a seq, so each key must decode; a malformed one
      // cannot be paged past (a verifying `fn` has said so already).
      absl::StatusOr<AuditEntry> decoded = DecodeAuditEntry(e.key(), e.value());
      if (!decoded.ok()) return decoded.status();
      after = decoded->seq;
    }
    if (resp.entries_size() < static_cast<int>(kAuditPage)) return absl::OkStatus();
  }
}

absl::StatusOr<TakenCheckpoint> SocketOperator::Checkpoint() {
  grpc::ClientContext ctx;
  // A checkpoint flushes the memtables first: allow for a slow disk.
  SetDeadline(ctx, kAuditPageDeadline);
  sotto::v1::CheckpointResponse resp;
  absl::Status s = FromGrpc(stub_->Checkpoint(&ctx, sotto::v1::CheckpointRequest(), &resp));
  if (!s.ok()) return s;
  return TakenCheckpoint{resp.dir(), KeyFilePaths{resp.audit_key_file(), resp.code_pepper_file()}};
}

absl::Status SocketOperator::ForEachUser(
    const std::function<absl::Status(const UserSummary&)>& fn) {
  std::string after;
  while (true) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, kAuditPageDeadline);
    sotto::v1::ListUsersRequest req;
    req.set_after_handle(after);
    req.set_limit(kAuditPage);
    sotto::v1::ListUsersResponse resp;
    absl::Status s = FromGrpc(stub_->ListUsers(&ctx, req, &resp));
    if (!s.ok()) return s;
    for (const auto& u : resp.users()) {
      UserSummary user{u.handle(),
                       u.role() == "therapist" ? Role::kTherapist
                       : u.role() == "client"  ? Role::kClient
                                               : Role::kUnspecified,
                       u.deactivated(),
                       {u.device_ids().begin(), u.device_ids().end()},
                       u.last_seen_hour_ms()};
      s = fn(user);
      if (!s.ok()) return s;
      after = u.handle();
    }
    if (resp.users_size() < static_cast<int>(kAuditPage)) return absl::OkStatus();
  }
}

}  // namespace sotto::server
