#include "server/rpc/care_service.h"

#include <limits>

#include "server/rpc/auth.h"
#include "server/rpc/convert.h"
#include "server/rpc/unary.h"
#include "sotto/status_macros.h"

namespace sotto::server::rpc {
namespace {

// uint32 wire values beyond int range would wrap; clamp so that
// ValidatePolicy rejects them by name.
int ToInt(uint32_t v) {
  return v > static_cast<uint32_t>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(v);
}

ResponsePolicy FromWire(const sotto::v1::ResponsePolicy& in) {
  ResponsePolicy out;
  out.time_zone = in.time_zone();
  for (uint32_t d : in.working_days()) out.working_days.push_back(ToInt(d));
  out.day_start_minute = ToInt(in.day_start_minute());
  out.day_end_minute = ToInt(in.day_end_minute());
  out.reply_window_minutes = ToInt(in.reply_window_minutes());
  out.away_from_ms = in.away_from_ms();
  out.away_until_ms = in.away_until_ms();
  out.away_note = in.away_note();
  return out;
}

void ToWire(const ResponsePolicy& in, sotto::v1::ResponsePolicy* out) {
  out->set_time_zone(in.time_zone);
  for (int d : in.working_days) out->add_working_days(static_cast<uint32_t>(d));
  out->set_day_start_minute(static_cast<uint32_t>(in.day_start_minute));
  out->set_day_end_minute(static_cast<uint32_t>(in.day_end_minute));
  out->set_reply_window_minutes(static_cast<uint32_t>(in.reply_window_minutes));
  out->set_away_from_ms(in.away_from_ms);
  out->set_away_until_ms(in.away_until_ms);
  out->set_away_note(in.away_note);
}

}  // namespace

grpc::ServerUnaryReactor* CareService::CreateInvite(grpc::CallbackServerContext* context,
                                                    const sotto::v1::CreateInviteRequest* request,
                                                    sotto::v1::CreateInviteResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext& call) {
        SOTTO_ASSIGN_OR_RETURN(IssuedCode code,
                               care_->CreateInvite(caller, request->valid_hours(), call));
        response->set_code(code.code);
        response->set_expires_at_ms(code.expires_at_ms);
        response->set_invite_id(code.invite_id);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareService::ListInvites(grpc::CallbackServerContext* context,
                                                   const sotto::v1::ListInvitesRequest* request,
                                                   sotto::v1::ListInvitesResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(std::vector<InviteLogEntry> invites,
                               care_->ListInvites(caller, request->max_results()));
        for (const InviteLogEntry& e : invites) {
          sotto::v1::InviteInfo* info = response->add_invites();
          info->set_id(e.id);
          info->set_created_ms(e.log.created_ms);
          info->set_expires_at_ms(e.log.expires_at_ms);
          info->set_used(!e.log.used_by.empty());
          info->set_used_by(e.log.used_by);
          info->set_used_ms(e.log.used_ms);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareService::AcceptInvite(grpc::CallbackServerContext* context,
                                                    const sotto::v1::AcceptInviteRequest* request,
                                                    sotto::v1::AcceptInviteResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext& call) {
        // The caller proved its device secret: its account carries the
        // budget, not its address, so others' wrong codes from a shared
        // address never count against it.
        const std::vector<std::string> attempt_keys = {AccountAttemptKey(caller.handle)};
        SOTTO_ASSIGN_OR_RETURN(bool over_budget, code_attempts_->Admit(attempt_keys));
        absl::StatusOr<std::string> therapist = care_->AcceptInvite(caller, request->code(), call);
        // PERMISSION_DENIED is a wrong, used or expired code (or a therapist
        // caller, who has no business guessing either).
        if (therapist.status().code() == absl::StatusCode::kPermissionDenied) {
          code_attempts_->RecordFailure(attempt_keys, over_budget);
          if (over_budget) return code_attempts_->Check(attempt_keys);
        }
        if (!therapist.ok()) return therapist.status();
        response->set_therapist(*therapist);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareService::ListLinks(grpc::CallbackServerContext* context,
                                                 const sotto::v1::ListLinksRequest*,
                                                 sotto::v1::ListLinksResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(std::vector<CareLink> links, care_->ListLinks(caller));
        for (const CareLink& l : links) {
          sotto::v1::CareLink* out = response->add_links();
          out->set_peer(l.peer);
          out->set_state(ToWire(l.state));
          out->set_since_ms(l.since_ms);
          out->set_ended_ms(l.ended_ms);
          out->set_ended_by(l.ended_by);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareService::EndLink(grpc::CallbackServerContext* context,
                                               const sotto::v1::EndLinkRequest* request,
                                               sotto::v1::EndLinkResponse*) {
  return AuthenticatedUnary(context, *gate_,
                            [=](const AuthenticatedDevice& caller, const CallContext& call) {
                              return care_->EndLink(caller, request->peer(), call);
                            });
}

grpc::ServerUnaryReactor* CareService::SetPolicy(grpc::CallbackServerContext* context,
                                                 const sotto::v1::SetPolicyRequest* request,
                                                 sotto::v1::SetPolicyResponse*) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        if (caller.role != Role::kTherapist) {
          return absl::PermissionDeniedError("only a therapist can set a response policy");
        }
        if (!request->has_policy()) return absl::InvalidArgumentError("policy is required");
        return care_->SetPolicy(caller, FromWire(request->policy()));
      });
}

grpc::ServerUnaryReactor* CareService::GetPolicy(grpc::CallbackServerContext* context,
                                                 const sotto::v1::GetPolicyRequest* request,
                                                 sotto::v1::GetPolicyResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        SOTTO_ASSIGN_OR_RETURN(PolicyView view, care_->GetPolicy(caller, request->therapist()));
        ToWire(view.policy, response->mutable_policy());
        response->set_emergency_note(view.emergency_note);
        return absl::OkStatus();
      });
}

}  // namespace sotto::server::rpc
