#ifndef SOTTO_SERVER_RPC_SERVER_H_
#define SOTTO_SERVER_RPC_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/domain/care.h"
#include "server/domain/clock.h"
#include "server/domain/enrolment.h"
#include "server/domain/mailbox.h"
#include "server/domain/rate_limiter.h"
#include "server/notify/notifier.h"
#include "server/notify/smtp_mailer.h"
#include "server/storage/postgres_store.h"
#include "server/storage/store.h"

namespace sotto::server::rpc {

// Largest request accepted: 16 envelopes of 64 KiB plus framing fits well;
// bigger messages fail with RESOURCE_EXHAUSTED before reaching a handler.
inline constexpr int kMaxReceiveMessageBytes = 2 << 20;

// The shortest interval at which a client may send keepalive pings while a
// call is open and the server sends no headers or data; the third ping
// sooner than that closes the connection with GOAWAY ENHANCE_YOUR_CALM
// (gRPC's ping strikes). With no call open gRPC's rule stands: at most one
// ping per 2 hours.
inline constexpr absl::Duration kMinClientPingInterval = absl::Seconds(30);

struct ServerOptions {
  // RocksDB directory; created if missing. With a PostgreSQL `store` it
  // holds only the key files and the operator socket.
  std::string data_dir;
  // Empty: RocksDB in data_dir. A postgres:// URL: that database
  // (server/storage/postgres_store.h). Several nodes may serve one
  // database (docs/DEPLOYING.md, "Several nodes").
  std::string store;
  // With a PostgreSQL `store`: the connections its pool keeps open at most
  // (PostgresStoreOptions::max_connections).
  size_t store_pool_size = PostgresStoreOptions().max_connections;
  // The secret key files, outside the database (server/app/key_files.h).
  // Empty: DATA_DIR.audit-key and DATA_DIR.code-pepper, created on first
  // start.
  std::string audit_key_file;
  std::string code_pepper_file;
  // Seals stored notification addresses; empty: DATA_DIR.notify-key, made
  // on the first start with an SMTP relay.
  std::string notification_key_file;
  // Content-free email notifications (docs/OPERATIONS.md, "Notifications").
  // smtp.relay empty: none, and the Notifications RPCs say so.
  notify::SmtpOptions smtp;
  notify::NotifierOptions notify;
  // The audit chain's head ("audit head SEQ:HEX") goes to stderr at start,
  // on shutdown and, when it moved, this often (AuditHeadReporter).
  absl::Duration audit_head_interval = absl::Hours(1);
  // host:port to listen on. Port 0 picks a free port.
  std::string listen_address = "127.0.0.1:7443";
  // PEM certificate chain and private key. Both set: the port serves TLS
  // only (grpc::SslServerCredentials, no client certificates): TLS 1.2 and
  // 1.3, the suites of kTlsCipherSuites
  // (docs/SECURITY.md). Both empty:
  // plain TCP, which sotto-server's main allows on loopback only. One
  // without the other: Start fails with INVALID_ARGUMENT.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Source of server time; nullptr means the system clock. Not owned.
  Clock* clock = nullptr;
  MailboxOptions mailbox;
  // Token buckets per source address, device and target (rate_limiter.h).
  RateLimitOptions rate_limits;
  // Active care links per account (limits.h kMaxLinksPerUser); tests lower
  // it.
  size_t max_links_per_user = kMaxLinksPerUser;
  // Shown to clients with every reply expectation and policy.
  std::string emergency_note = kDefaultEmergencyNote;
  // Serve sotto.v1.Operator on unix:DATA_DIR/operator.sock (mode 0600; the
  // data directory is made 0700). The TCP port never serves it.
  bool operator_socket = true;
  // Threads that run unary handlers' blocking work (store reads, and
  // synced writes, which wait for the log syncer's next group sync). Send
  // does not use them (it never waits for the disk).
  size_t io_threads = 64;
  // Calls that may wait for one of those threads; past it a call fails at
  // once with RESOURCE_EXHAUSTED "server busy; retry".
  size_t io_queue = 4096;
  // Subscribe streams one device may hold open at once. Opening one more
  // ends that device's oldest stream with ABORTED: a phone that changed
  // networks reconnects before anyone has noticed that its old connection
  // died, and the new stream must win. At least 1.
  size_t max_streams_per_device = 4;
  // HTTP/2 keepalive. The server pings a connection that has a call open
  // (a Subscribe stream) and has been quiet for keepalive_time, and closes
  // it, ending its streams, if the ping is not answered within
  // keepalive_timeout. A client that vanished without closing its
  // connection (a phone that lost its network) then loses its streams,
  // their mailbox listeners and buffers after about 80 s. Without pings a
  // quiet stream to a vanished client stays until the server next writes to
  // it and TCP gives up on that write (15 minutes or more). Connections with
  // no call open are not pinged (no radio wake-ups for idle phones). Zero
  // keepalive_time: no pings at all.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // A connection with no call open for this long is closed (HTTP/2 GOAWAY;
  // gRPC clients reconnect on their next call). Such connections are not
  // pinged, so this is what frees one whose client vanished, or that was
  // opened and left. Zero: never.
  absl::Duration idle_connection_timeout = absl::Minutes(10);
  // host:port of the Prometheus text endpoint (GET /metrics; plain HTTP,
  // see MetricsEndpoint); port 0 picks a free port. Empty: no endpoint.
  // Whether the host may be off loopback is sotto-server's policy
  // (--metrics-allow-remote); metrics tell activity levels, never content
  // or who.
  std::string metrics_listen;
  // The free-space reserve of the data directory's file system: with less
  // free, the server refuses what would add data (Sends, registrations, key
  // uploads, invites...) with RESOURCE_EXHAUSTED, and keeps serving Fetch,
  // Ack and Subscribe so queues drain; it also keeps a ballast file of a
  // quarter of this (at most 64 MiB) to give back when the disk fills
  // anyway (server/storage/disk_space.h). 0: no reserve, no ballast.
  uint64_t min_free_bytes = uint64_t{256} << 20;
  // Floods (docs/OPERATIONS.md "Internet-facing: floods and haproxy").
  // TCP connections open at once, in all and from one source IP address;
  // past either, a new connection is closed as soon as it is accepted
  // (ConnectionAcceptor). 0: no limit. Behind a proxy every connection
  // comes from the proxy's address: set max_connections_per_address to 0
  // and let the proxy limit per source.
  size_t max_connections = 0;
  size_t max_connections_per_address = 256;
  // HTTP/2 streams (calls) open at once on one connection
  // (SETTINGS_MAX_CONCURRENT_STREAMS); a gRPC client queues calls past it.
  // gRPC's own default is unlimited: 10,000 open streams on one connection
  // were all accepted.
  uint32_t max_streams_per_connection = 256;
  // Memory gRPC may use for its buffers, all connections together (a
  // grpc::ResourceQuota); 0: no quota.
  size_t grpc_memory_bytes = size_t{1} << 30;
  // A connection must finish its TLS handshake and send the HTTP/2 preface
  // and SETTINGS within this long, or it is closed: what frees a
  // connection opened and left silent.
  absl::Duration handshake_timeout = absl::Seconds(20);
  // Tests only: wraps the opened store (e.g. to observe or delay writes).
  // The result is what the server uses; it must forward to the store given.
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store;
};

// The TLS cipher suites the server accepts: gRPC's own default list,
// forward-secret AEAD only (TLS 1.3: AES-GCM and ChaCha20-Poly1305; TLS 1.2:
// ECDHE with AES-GCM). gRPC takes a different list from the
// GRPC_SSL_CIPHER_SUITES environment variable; Start refuses to run with
// any other list there, so the suites docs/SECURITY.md names are the ones
// served. (Versions below TLS 1.2 are refused by gRPC 1.51's handshaker,
// whose minimum the C++ API does not expose.)
inline constexpr char kTlsCipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384";

// The operator socket's file name inside the data directory.
inline constexpr char kOperatorSocketName[] = "operator.sock";

// A running Sotto server: storage, domain services and gRPC, owned together.
// Thread-safe. Usable in-process by tests and by sotto-server's main.
// Start turns off Abseil's mutex deadlock detection process-wide (see
// server.cc).
class SottoServer {
 public:
  // Opens the database and starts serving. Errors: those of
  // OpenRocksDbStore (data dir unusable, database locked) and of the key
  // files (key_files.h), UNAVAILABLE "cannot listen on ADDR: REASON" if the
  // address (or the metrics address) cannot be bound (in use by another
  // process included),
  // INVALID_ARGUMENT for GRPC_SSL_CIPHER_SUITES set to another list.
  static absl::StatusOr<std::unique_ptr<SottoServer>> Start(const ServerOptions& options);

  // What Start checks of `options` before it opens anything:
  // INVALID_ARGUMENT naming the first option that cannot work
  // (`sotto-server check-config` runs it without starting).
  static absl::Status ValidateOptions(const ServerOptions& options);

  SottoServer(const SottoServer&) = delete;
  SottoServer& operator=(const SottoServer&) = delete;
  // Shuts down (if not yet) and closes the database.
  ~SottoServer();

  // The bound port (the real one when 0 was asked for).
  int port() const { return port_; }
  // host:port with the bound port, e.g. "127.0.0.1:40123".
  const std::string& address() const { return address_; }

  // Stops accepting calls, cancels open streams after `deadline`, waits
  // for handlers to finish (calls queued for the handler pool run or end
  // CANCELLED), then stops the pool. Idempotent.
  void Shutdown(absl::Duration deadline = absl::Seconds(3));
  // Blocks until Shutdown has completed.
  void Wait();

  // The metrics endpoint's bound port, 0 without one.
  int metrics_port() const { return metrics_port_; }

  // "unix:DATA_DIR/operator.sock", or empty without an operator socket.
  const std::string& operator_address() const { return operator_address_; }

  // In-process operator access for tests: as Operator.EnrolTherapist.
  absl::StatusOr<IssuedCode> IssueEnrolmentCode(const std::string& handle,
                                                uint32_t valid_hours = 0);
  // Makes the send-later releaser look for due messages now (tests with a
  // FakeClock call it after advancing the clock).
  void WakeReleaser();
  // Releases what is due at the clock's now on the calling thread and
  // returns once that is done (Mailbox::ReleaseDue): for tests that must
  // see a release happen, or see that it did not.
  absl::Status ReleaseDueNow();
  // Whether this node runs the send-later releaser and the sweeper: always
  // on RocksDB; on PostgreSQL while it holds the leader's lock
  // (server/storage/postgres_leader.h). False once shut down.
  bool leads() const;

 private:
  struct Parts;
  explicit SottoServer(std::unique_ptr<Parts> parts);

  std::unique_ptr<Parts> parts_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string address_;
  std::string operator_address_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_SERVER_H_
