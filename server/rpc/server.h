#ifndef SOTTO_SERVER_RPC_SERVER_H_
#define SOTTO_SERVER_RPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/domain/clock.h"
#include "server/domain/mailbox.h"

namespace sotto::server::rpc {

// Largest request accepted: 16 envelopes of 64 KiB plus framing fits well;
// bigger messages fail with RESOURCE_EXHAUSTED before reaching a handler.
inline constexpr int kMaxReceiveMessageBytes = 2 << 20;

struct ServerOptions {
  // RocksDB directory; created if missing.
  std::string data_dir;
  // host:port to listen on, plain TCP. Port 0 picks a free port.
  std::string listen_address = "127.0.0.1:7443";
  // Source of server time; nullptr means the system clock. Not owned.
  Clock* clock = nullptr;
  MailboxOptions mailbox;
};

// A running Sotto server: storage, domain services and gRPC, owned together.
// Thread-safe. Usable in-process by tests and by sotto-server's main.
class SottoServer {
 public:
  // Opens the database and starts serving. Errors: those of
  // OpenRocksDbStore (data dir unusable, database locked), UNAVAILABLE if the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<SottoServer>> Start(
      const ServerOptions& options);

  SottoServer(const SottoServer&) = delete;
  SottoServer& operator=(const SottoServer&) = delete;
  // Shuts down (if not yet) and closes the database.
  ~SottoServer();

  // The bound port (the real one when 0 was asked for).
  int port() const { return port_; }
  // host:port with the bound port, e.g. "127.0.0.1:40123".
  const std::string& address() const { return address_; }

  // Stops accepting calls, cancels open streams after `deadline`, and waits
  // for handlers to finish. Idempotent.
  void Shutdown(absl::Duration deadline = absl::Seconds(3));
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  struct Parts;
  explicit SottoServer(std::unique_ptr<Parts> parts);

  std::unique_ptr<Parts> parts_;
  int port_ = 0;
  std::string address_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_SERVER_H_
