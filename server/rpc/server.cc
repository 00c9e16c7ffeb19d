#include "server/rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/accounts.h"
#include "server/domain/key_directory.h"
#include "server/rpc/accounts_service.h"
#include "server/rpc/keys_service.h"
#include "server/rpc/messages_service.h"
#include "server/storage/rocksdb_store.h"

namespace sotto::server::rpc {

// Declared in dependency order: destroyed in reverse, the gRPC server first
// (after Shutdown), the store last.
struct SottoServer::Parts {
  std::unique_ptr<Store> store;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<KeyDirectory> keys;
  std::unique_ptr<Mailbox> mailbox;
  std::unique_ptr<AccountsService> accounts_service;
  std::unique_ptr<KeysService> keys_service;
  std::unique_ptr<MessagesService> messages_service;
  std::unique_ptr<grpc::Server> server;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;
};

SottoServer::SottoServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

absl::StatusOr<std::unique_ptr<SottoServer>> SottoServer::Start(
    const ServerOptions& options) {
  auto parts = std::make_unique<Parts>();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(options.data_dir);
  if (!store.ok()) return store.status();
  parts->store = *std::move(store);
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock::Get();
  parts->accounts = std::make_unique<Accounts>(parts->store.get());
  parts->keys = std::make_unique<KeyDirectory>(parts->store.get(), parts->accounts.get());
  parts->mailbox = std::make_unique<Mailbox>(parts->store.get(), parts->accounts.get(),
                                             clock, options.mailbox);
  parts->accounts_service = std::make_unique<AccountsService>(parts->accounts.get());
  parts->keys_service =
      std::make_unique<KeysService>(parts->accounts.get(), parts->keys.get());
  parts->messages_service =
      std::make_unique<MessagesService>(parts->accounts.get(), parts->mailbox.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(),
                           &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  builder.RegisterService(parts->accounts_service.get());
  builder.RegisterService(parts->keys_service.get());
  builder.RegisterService(parts->messages_service.get());
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address));
  }
  auto server = std::unique_ptr<SottoServer>(new SottoServer(std::move(parts)));
  server->port_ = port;
  std::string host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  server->address_ = absl::StrCat(host, ":", port);
  return server;
}

void SottoServer::Shutdown(absl::Duration deadline) {
  absl::MutexLock lock(&parts_->shutdown_mu);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
}

void SottoServer::Wait() { parts_->server->Wait(); }

SottoServer::~SottoServer() {
  Shutdown();
  parts_->server->Wait();
  parts_->server.reset();
}

}  // namespace sotto::server::rpc
