#include "server/rpc/notifications_service.h"

#include "server/rpc/auth.h"
#include "server/rpc/unary.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server::rpc {
namespace {

void ToWire(const NotificationSetting& in, bool sends_mail, sotto::v1::NotificationSettings* out) {
  out->set_mode(static_cast<sotto::v1::NotificationMode>(in.mode));
  out->set_email(in.email);
  out->set_digest_interval_minutes(in.digest_interval_minutes);
  out->set_server_sends_mail(sends_mail);
}

}  // namespace

grpc::ServerUnaryReactor* NotificationsService::SetEmail(
    grpc::CallbackServerContext* context, const sotto::v1::SetEmailRequest* request,
    sotto::v1::NotificationSettings* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        if (settings_ == nullptr) {
          return absl::FailedPreconditionError(
              "this server sends no email notifications (its operator configured no SMTP "
              "relay)");
        }
        NotificationSetting wanted{static_cast<NotificationMode>(request->mode()), request->email(),
                                   request->digest_interval_minutes()};
        SOTTO_ASSIGN_OR_RETURN(NotificationSetting stored, settings_->Set(caller, wanted));
        notifier_->Update({caller.handle, stored.mode, stored.digest_interval_minutes});
        ToWire(stored, true, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* NotificationsService::Disable(
    grpc::CallbackServerContext* context, const sotto::v1::DisableNotificationsRequest*,
    sotto::v1::DisableNotificationsResponse*) {
  return AuthenticatedUnary(context, *gate_,
                            [=](const AuthenticatedDevice& caller, const CallContext&) {
                              if (notifier_ != nullptr)
                                notifier_->Update({caller.handle, NotificationMode::kOff, 0});
                              if (settings_ != nullptr) return settings_->Disable(caller);
                              // No relay now, but an earlier configuration may have stored an
                              // address: deleting it needs no key.
                              WriteBatch batch;
                              batch.Delete(Table::kNotifications, keys::Account(caller.handle));
                              return store_->Write(batch, Durability::kSynced);
                            });
}

grpc::ServerUnaryReactor* NotificationsService::Get(grpc::CallbackServerContext* context,
                                                    const sotto::v1::GetNotificationsRequest*,
                                                    sotto::v1::NotificationSettings* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        if (settings_ == nullptr) {
          ToWire(NotificationSetting{}, false, response);
          return absl::OkStatus();
        }
        SOTTO_ASSIGN_OR_RETURN(NotificationSetting s, settings_->Get(caller.handle));
        ToWire(s, true, response);
        return absl::OkStatus();
      });
}

}  // namespace sotto::server::rpc
