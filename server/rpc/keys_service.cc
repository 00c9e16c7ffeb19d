#include "server/rpc/keys_service.h"

#include "server/rpc/auth.h"
#include "server/rpc/convert.h"
#include "server/rpc/status_mapping.h"
#include "server/rpc/unary.h"

namespace sotto::server::rpc {

grpc::ServerUnaryReactor* KeysService::Upload(grpc::CallbackServerContext* context,
                                              const sotto::v1::UploadKeysRequest* request,
                                              sotto::v1::UploadKeysResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    absl::StatusOr<uint32_t> count = keys_->Upload(
        *caller, FromWire(request->keys()), CallContext{PeerAddress(*context)},
        request->replace_one_time_prekeys() ? KeyDirectory::OneTimePreKeys::kReplace
                                            : KeyDirectory::OneTimePreKeys::kAdd);
    if (count.ok()) response->set_one_time_prekey_count(*count);
    return ToGrpcStatus(count.status());
  });
}

grpc::ServerUnaryReactor* KeysService::GetBundle(grpc::CallbackServerContext* context,
                                                 const sotto::v1::GetBundleRequest* request,
                                                 sotto::v1::GetBundleResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    // Every caller gets the same PERMISSION_DENIED for a handle it has no
    // link with, free or taken, client or therapist (Care::CheckCanMessage).
    absl::Status allowed = care_->CheckCanFetchBundle(*caller, request->user());
    if (!allowed.ok()) {
      return ToGrpcStatus(allowed);
    }
    // Two budgets. The requester's: past it, RESOURCE_EXHAUSTED. The target's
    // (shared by all requesters): past it the bundles come WITHOUT one-time
    // prekeys instead of failing, so X3DH still works (signed prekey only) and
    // nobody can drain another user's one-time prekeys or lock others out of
    // reaching them.
    const std::string actor = AuditActor(*caller);
    absl::Status allowed_requester =
        gate_->Limit(gate_->limits().bundle_per_requester, actor, actor, request->user(),
                     "bundle_per_requester", CallContext{PeerAddress(*context)});
    if (!allowed_requester.ok()) {
      return ToGrpcStatus(allowed_requester);
    }
    const bool take_one_time = gate_->limits().bundle_per_target.Take(request->user()).ok();
    absl::StatusOr<std::vector<PreKeyBundle>> bundles =
        keys_->GetBundle(request->user(), take_one_time,
                         request->user() == caller->handle ? caller->device_id : 0);
    if (bundles.ok()) {
      response->set_user(request->user());
      for (const PreKeyBundle& b : *bundles) {
        sotto::v1::PreKeyBundle* out = response->add_devices();
        out->set_device_id(b.device_id);
        out->set_registration_id(b.registration_id);
        out->set_identity_key(b.identity_key);
        out->mutable_signed_prekey()->set_id(b.signed_prekey.id);
        out->mutable_signed_prekey()->set_public_key(b.signed_prekey.public_key);
        out->mutable_signed_prekey()->set_signature(b.signed_prekey.signature);
        if (b.one_time_prekey) {
          out->mutable_one_time_prekey()->set_id(b.one_time_prekey->id);
          out->mutable_one_time_prekey()->set_public_key(b.one_time_prekey->public_key);
        }
      }
    }
    return ToGrpcStatus(bundles.status());
  });
}

grpc::ServerUnaryReactor* KeysService::CountPreKeys(grpc::CallbackServerContext* context,
                                                    const sotto::v1::CountPreKeysRequest*,
                                                    sotto::v1::CountPreKeysResponse* response) {
  return OffloadUnary(context, gate_->pool(), [=]() -> grpc::Status {
    absl::StatusOr<AuthenticatedDevice> caller = gate_->Authenticate(*context);
    if (!caller.ok()) {
      return ToGrpcStatus(caller.status());
    }
    absl::StatusOr<PreKeyCount> count = keys_->CountPreKeys(*caller);
    if (count.ok()) {
      response->set_one_time_prekey_count(count->one_time_prekeys);
      response->set_signed_prekey_id(count->signed_prekey_id);
    }
    return ToGrpcStatus(count.status());
  });
}

}  // namespace sotto::server::rpc
