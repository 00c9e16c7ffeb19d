#ifndef SOTTO_SERVER_RPC_DEVICES_SERVICE_H_
#define SOTTO_SERVER_RPC_DEVICES_SERVICE_H_

#include "server/domain/accounts.h"
#include "server/domain/clock.h"
#include "server/domain/history_transfers.h"
#include "server/domain/last_seen.h"
#include "server/domain/link_slots.h"
#include "server/domain/mailbox.h"
#include "server/rpc/call_gate.h"
#include "sotto/v1/devices.grpc.pb.h"

namespace sotto::server::rpc {

// sotto.v1.Devices: an account's devices, and the relay that links a new
// one (link_slots.h). The three calls a new device makes before it has
// credentials (PostLinkRequest, FetchLinkResponse, Link) take a token per
// call from the per-address RateLimits::link_relay bucket, as Register
// takes from its own. Does not own its arguments, which must outlive the
// server.
class DevicesService final : public sotto::v1::Devices::CallbackService {
 public:
  DevicesService(CallGate* gate, LinkSlots* slots, HistoryTransfers* transfers, Mailbox* mailbox,
                 LastSeen* last_seen, Clock* clock)
      : gate_(gate),
        accounts_(&gate->accounts()),
        slots_(slots),
        transfers_(transfers),
        mailbox_(mailbox),
        last_seen_(last_seen),
        clock_(clock) {}
  DevicesService(const DevicesService&) = delete;
  DevicesService& operator=(const DevicesService&) = delete;

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const sotto::v1::ListDevicesRequest* request,
                                 sotto::v1::ListDevicesResponse* response) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext* context,
                                   const sotto::v1::RemoveDeviceRequest* request,
                                   sotto::v1::RemoveDeviceResponse* response) override;
  grpc::ServerUnaryReactor* CreateLinkSlot(grpc::CallbackServerContext* context,
                                           const sotto::v1::CreateLinkSlotRequest* request,
                                           sotto::v1::CreateLinkSlotResponse* response) override;
  grpc::ServerUnaryReactor* PostLinkRequest(grpc::CallbackServerContext* context,
                                            const sotto::v1::PostLinkRequestRequest* request,
                                            sotto::v1::PostLinkRequestResponse* response) override;
  grpc::ServerUnaryReactor* GetLinkRequest(grpc::CallbackServerContext* context,
                                           const sotto::v1::GetLinkRequestRequest* request,
                                           sotto::v1::GetLinkRequestResponse* response) override;
  grpc::ServerUnaryReactor* PutLinkResponse(grpc::CallbackServerContext* context,
                                            const sotto::v1::PutLinkResponseRequest* request,
                                            sotto::v1::PutLinkResponseResponse* response) override;
  grpc::ServerUnaryReactor* CancelLinkSlot(grpc::CallbackServerContext* context,
                                           const sotto::v1::CancelLinkSlotRequest* request,
                                           sotto::v1::CancelLinkSlotResponse* response) override;
  grpc::ServerUnaryReactor* FetchLinkResponse(
      grpc::CallbackServerContext* context, const sotto::v1::FetchLinkResponseRequest* request,
      sotto::v1::FetchLinkResponseResponse* response) override;
  grpc::ServerUnaryReactor* Link(grpc::CallbackServerContext* context,
                                 const sotto::v1::LinkRequest* request,
                                 sotto::v1::LinkResponse* response) override;

  // History transfer (history_transfers.h); every call authenticated.
  grpc::ServerUnaryReactor* CreateHistoryTransfer(
      grpc::CallbackServerContext* context, const sotto::v1::CreateHistoryTransferRequest* request,
      sotto::v1::CreateHistoryTransferResponse* response) override;
  grpc::ServerUnaryReactor* PutHistoryChunk(grpc::CallbackServerContext* context,
                                            const sotto::v1::PutHistoryChunkRequest* request,
                                            sotto::v1::PutHistoryChunkResponse* response) override;
  grpc::ServerUnaryReactor* SealHistoryTransfer(
      grpc::CallbackServerContext* context, const sotto::v1::SealHistoryTransferRequest* request,
      sotto::v1::SealHistoryTransferResponse* response) override;
  grpc::ServerUnaryReactor* FetchHistoryChunk(
      grpc::CallbackServerContext* context, const sotto::v1::FetchHistoryChunkRequest* request,
      sotto::v1::FetchHistoryChunkResponse* response) override;
  grpc::ServerUnaryReactor* DeleteHistoryTransfer(
      grpc::CallbackServerContext* context, const sotto::v1::DeleteHistoryTransferRequest* request,
      sotto::v1::DeleteHistoryTransferResponse* response) override;

 private:
  // Runs `body(call)` for an unauthenticated linking call once the
  // address's link_relay bucket gave a token.
  template <typename Body>
  grpc::ServerUnaryReactor* Unauthenticated(grpc::CallbackServerContext* context,
                                            absl::string_view what, Body body);

  CallGate* const gate_;
  Accounts* const accounts_;
  LinkSlots* const slots_;
  HistoryTransfers* const transfers_;
  Mailbox* const mailbox_;
  LastSeen* const last_seen_;
  Clock* const clock_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_DEVICES_SERVICE_H_
