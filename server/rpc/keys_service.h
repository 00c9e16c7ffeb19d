#ifndef SOTTO_SERVER_RPC_KEYS_SERVICE_H_
#define SOTTO_SERVER_RPC_KEYS_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/care.h"
#include "server/domain/key_directory.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/keys.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Keys. GetBundle is only for the caller's own account and care
// links (Care::CheckCanFetchBundle), so strangers can neither discover
// accounts nor drain their one-time prekeys. Does not own its arguments, which must outlive the
// server.
class KeysService final : public sotto::v1::Keys::CallbackService {
 public:
  KeysService(CallGate* gate, KeyDirectory* keys, Care* care)
      : gate_(gate), accounts_(&gate->accounts()), keys_(keys), care_(care) {}
  KeysService(const KeysService&) = delete;
  KeysService& operator=(const KeysService&) = delete;

  grpc::ServerUnaryReactor* Upload(grpc::CallbackServerContext* context,
                                   const sotto::v1::UploadKeysRequest* request,
                                   sotto::v1::UploadKeysResponse* response) override;
  grpc::ServerUnaryReactor* GetBundle(grpc::CallbackServerContext* context,
                                      const sotto::v1::GetBundleRequest* request,
                                      sotto::v1::GetBundleResponse* response) override;
  grpc::ServerUnaryReactor* CountPreKeys(grpc::CallbackServerContext* context,
                                         const sotto::v1::CountPreKeysRequest* request,
                                         sotto::v1::CountPreKeysResponse* response) override;

 private:
  CallGate* const gate_;
  Accounts* const accounts_;
  KeyDirectory* const keys_;
  Care* const care_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_KEYS_SERVICE_H_
