#ifndef SOTTO_SERVER_RPC_NOTIFICATIONS_SERVICE_H_
#define SOTTO_SERVER_RPC_NOTIFICATIONS_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/notification_settings.h"
#include "server/notify/notifier.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/notifications.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Notifications: a person's opt-in to content-free email
// notifications. Does not own its arguments, which must outlive the server.
// `settings` and `notifier` are null when the server has no SMTP relay:
// then SetEmail is FAILED_PRECONDITION, Get answers OFF, and Disable still
// deletes a row an earlier configuration stored.
class NotificationsService final : public sotto::v1::Notifications::CallbackService {
 public:
  NotificationsService(CallGate* gate, Store* store, NotificationSettings* settings,
                       notify::Notifier* notifier)
      : gate_(gate), store_(store), settings_(settings), notifier_(notifier) {}
  NotificationsService(const NotificationsService&) = delete;
  NotificationsService& operator=(const NotificationsService&) = delete;

  grpc::ServerUnaryReactor* SetEmail(grpc::CallbackServerContext* context,
                                     const sotto::v1::SetEmailRequest* request,
                                     sotto::v1::NotificationSettings* response) override;
  grpc::ServerUnaryReactor* Disable(grpc::CallbackServerContext* context,
                                    const sotto::v1::DisableNotificationsRequest* request,
                                    sotto::v1::DisableNotificationsResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const sotto::v1::GetNotificationsRequest* request,
                                sotto::v1::NotificationSettings* response) override;

 private:
  CallGate* const gate_;
  Store* const store_;
  NotificationSettings* const settings_;
  notify::Notifier* const notifier_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_NOTIFICATIONS_SERVICE_H_
