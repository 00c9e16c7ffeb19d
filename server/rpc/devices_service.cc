#include "server/rpc/devices_service.h"

#include <string>

#include "server/domain/audit_log.h"
#include "server/rpc/auth.h"
#include "server/rpc/convert.h"
#include "server/rpc/status_mapping.h"
#include "server/rpc/unary.h"

namespace sotto::server::rpc {

template <typename Body>
grpc::ServerUnaryReactor* DevicesService::Unauthenticated(grpc::CallbackServerContext* context,
                                                          absl::string_view what, Body body) {
  CallGate* const gate = gate_;
  return OffloadUnary(context, gate->pool(),
                      [context, gate, what, body = std::move(body)]() mutable -> grpc::Status {
                        const CallContext call{PeerAddress(*context)};
                        absl::Status allowed =
                            gate->Limit(gate->limits().link_relay, call.source, "", "", what, call);
                        if (!allowed.ok()) return ToGrpcStatus(allowed);
                        return ToGrpcStatus(body(call));
                      });
}

grpc::ServerUnaryReactor* DevicesService::List(grpc::CallbackServerContext* context,
                                               const sotto::v1::ListDevicesRequest*,
                                               sotto::v1::ListDevicesResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) -> absl::Status {
        absl::StatusOr<std::vector<DeviceInfo>> devices = accounts_->Devices(caller.handle);
        if (!devices.ok()) return devices.status();
        for (const DeviceInfo& d : *devices) {
          sotto::v1::DeviceInfo* out = response->add_devices();
          out->set_device_id(d.device_id);
          out->set_name(d.name);
          out->set_linked_at_ms(d.linked_at_ms);
          out->set_last_seen_hour_ms(
              last_seen_->DeviceHourOf(caller.handle, d.device_id).value_or(0));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::Remove(grpc::CallbackServerContext* context,
                                                 const sotto::v1::RemoveDeviceRequest* request,
                                                 sotto::v1::RemoveDeviceResponse*) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext& call) {
        // Through the mailbox: it holds the device's queue lock, so no Send
        // adds to the queue being deleted. The device-removed listener
        // (server.cc) ends its streams, link codes and last-seen hour.
        return mailbox_->RemoveDevice(caller, request->device_id(), call);
      });
}

grpc::ServerUnaryReactor* DevicesService::CreateLinkSlot(
    grpc::CallbackServerContext* context, const sotto::v1::CreateLinkSlotRequest*,
    sotto::v1::CreateLinkSlotResponse* response) {
  return AuthenticatedUnary(
      context, *gate_,
      [=](const AuthenticatedDevice& caller, const CallContext& call) -> absl::Status {
        absl::StatusOr<std::vector<DeviceInfo>> devices = accounts_->Devices(caller.handle);
        if (!devices.ok()) return devices.status();
        if (devices->size() >= kMaxDevicesPerUser) {
          return absl::ResourceExhaustedError(
              absl::StrCat("account ", caller.handle, " already has ", devices->size(),
                           " devices (at most ", kMaxDevicesPerUser, "); remove one first"));
        }
        if (absl::Status allowed =
                gate_->Limit(gate_->limits().link_codes_per_account, caller.handle,
                             AuditActor(caller), caller.handle, "link_slot", call);
            !allowed.ok()) {
          return allowed;
        }
        absl::StatusOr<LinkSlots::Created> slot = slots_->Create(caller);
        if (!slot.ok()) return slot.status();
        gate_->Audit({audit::kLinkSlotCreated, AuditActor(caller), caller.handle, ""}, call);
        response->set_slot_id(slot->slot_id);
        response->set_link_token(slot->link_token);
        response->set_expires_at_ms(slot->expires_at_ms);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::PostLinkRequest(
    grpc::CallbackServerContext* context, const sotto::v1::PostLinkRequestRequest* request,
    sotto::v1::PostLinkRequestResponse*) {
  return Unauthenticated(context, "link_relay", [=](const CallContext&) {
    return slots_->PostRequest(request->slot_id(), request->ephemeral_public_key(), request->mac());
  });
}

grpc::ServerUnaryReactor* DevicesService::GetLinkRequest(
    grpc::CallbackServerContext* context, const sotto::v1::GetLinkRequestRequest* request,
    sotto::v1::GetLinkRequestResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) -> absl::Status {
        absl::StatusOr<std::optional<LinkSlots::Request>> posted =
            slots_->GetRequest(caller, request->slot_id());
        if (!posted.ok()) return posted.status();
        if (posted->has_value()) {
          response->set_posted(true);
          response->set_ephemeral_public_key((*posted)->ephemeral_key);
          response->set_mac((*posted)->mac);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::PutLinkResponse(
    grpc::CallbackServerContext* context, const sotto::v1::PutLinkResponseRequest* request,
    sotto::v1::PutLinkResponseResponse*) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        return slots_->PutResponse(caller, request->slot_id(), request->ciphertext());
      });
}

grpc::ServerUnaryReactor* DevicesService::CancelLinkSlot(
    grpc::CallbackServerContext* context, const sotto::v1::CancelLinkSlotRequest* request,
    sotto::v1::CancelLinkSlotResponse*) {
  return AuthenticatedUnary(context, *gate_,
                            [=](const AuthenticatedDevice& caller, const CallContext&) {
                              return slots_->Cancel(caller, request->slot_id());
                            });
}

grpc::ServerUnaryReactor* DevicesService::FetchLinkResponse(
    grpc::CallbackServerContext* context, const sotto::v1::FetchLinkResponseRequest* request,
    sotto::v1::FetchLinkResponseResponse* response) {
  return Unauthenticated(context, "link_relay", [=](const CallContext&) -> absl::Status {
    absl::StatusOr<std::optional<std::string>> ciphertext =
        slots_->FetchResponse(request->slot_id());
    if (!ciphertext.ok()) return ciphertext.status();
    if (ciphertext->has_value()) {
      response->set_ready(true);
      response->set_ciphertext(**ciphertext);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DevicesService::Link(grpc::CallbackServerContext* context,
                                               const sotto::v1::LinkRequest* request,
                                               sotto::v1::LinkResponse* response) {
  return Unauthenticated(context, "link_relay", [=](const CallContext& call) -> absl::Status {
    NewDevice device;
    device.device_secret = request->device_secret();
    device.registration_id = request->registration_id();
    device.keys = FromWire(request->keys());
    device.name = request->name();
    device.linked_at_ms = clock_->NowMillis();
    // Everything the request and the account decide (its own keys, the
    // account's identity key, a removed linking device) comes before the
    // token is used up, so a malformed request can be fixed and sent again.
    if (absl::Status name = Accounts::ValidateDeviceName(request->name()); !name.ok()) {
      return name;
    }
    if (request->device_secret().size() != kDeviceSecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat("device_secret must be ", kDeviceSecretBytes,
                                                     " bytes, got ",
                                                     request->device_secret().size()));
    }
    absl::StatusOr<LinkSlots::Grant> peek = slots_->Peek(request->link_token());
    if (!peek.ok()) return peek.status();
    if (absl::Status linkable = accounts_->CheckLinkable(peek->handle, peek->linked_by, device);
        !linkable.ok()) {
      return linkable;
    }
    absl::StatusOr<LinkSlots::Grant> grant = slots_->Redeem(request->link_token());
    if (!grant.ok()) return grant.status();
    absl::StatusOr<uint32_t> id =
        accounts_->LinkDevice(grant->handle, grant->linked_by, device, call);
    if (!id.ok()) return id.status();
    response->set_handle(grant->handle);
    response->set_device_id(*id);
    return absl::OkStatus();
  });
}

}  // namespace sotto::server::rpc
