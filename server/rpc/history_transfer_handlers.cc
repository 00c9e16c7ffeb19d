// sotto.v1.Devices, the history-transfer calls (devices.proto,
// history_transfers.h): thin handlers over the spool. Kept apart from
// devices_service.cc, which links devices; both are one service on the wire.

#include "server/domain/audit_log.h"
#include "server/domain/limits.h"
#include "server/rpc/devices_service.h"
#include "server/rpc/unary.h"

namespace sotto::server::rpc {

grpc::ServerUnaryReactor* DevicesService::CreateHistoryTransfer(
    grpc::CallbackServerContext* context, const sotto::v1::CreateHistoryTransferRequest*,
    sotto::v1::CreateHistoryTransferResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) -> absl::Status {
        absl::StatusOr<HistoryTransfers::Created> created = transfers_->Create(caller);
        if (!created.ok()) return created.status();
        response->set_transfer_id(created->transfer_id);
        response->set_expires_at_ms(created->expires_at_ms);
        response->set_max_chunk_bytes(kMaxHistoryChunkBytes);
        response->set_max_archive_bytes(kMaxHistoryTransferBytes);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::PutHistoryChunk(
    grpc::CallbackServerContext* context, const sotto::v1::PutHistoryChunkRequest* request,
    sotto::v1::PutHistoryChunkResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) -> absl::Status {
        absl::StatusOr<uint64_t> received = transfers_->Append(
            caller, request->transfer_id(), request->offset(), request->data());
        if (!received.ok()) return received.status();
        response->set_received_bytes(*received);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::SealHistoryTransfer(
    grpc::CallbackServerContext* context, const sotto::v1::SealHistoryTransferRequest* request,
    sotto::v1::SealHistoryTransferResponse*) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) {
        return transfers_->Seal(caller, request->transfer_id(), request->total_bytes());
      });
}

grpc::ServerUnaryReactor* DevicesService::FetchHistoryChunk(
    grpc::CallbackServerContext* context, const sotto::v1::FetchHistoryChunkRequest* request,
    sotto::v1::FetchHistoryChunkResponse* response) {
  return AuthenticatedUnary(
      context, *gate_, [=](const AuthenticatedDevice& caller, const CallContext&) -> absl::Status {
        absl::StatusOr<HistoryTransfers::Chunk> chunk =
            transfers_->Read(caller, request->transfer_id(), request->offset());
        if (!chunk.ok()) return chunk.status();
        response->set_data(std::move(chunk->data));
        response->set_total_bytes(chunk->total_bytes);
        response->set_last(chunk->last);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DevicesService::DeleteHistoryTransfer(
    grpc::CallbackServerContext* context, const sotto::v1::DeleteHistoryTransferRequest* request,
    sotto::v1::DeleteHistoryTransferResponse*) {
  return AuthenticatedUnary(context, *gate_,
                            [=](const AuthenticatedDevice& caller, const CallContext&) {
                              return transfers_->Delete(caller, request->transfer_id());
                            });
}

}  // namespace sotto::server::rpc
