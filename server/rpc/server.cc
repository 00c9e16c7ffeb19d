#include "server/rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/app/audit_head_reporter.h"
#include "server/app/key_files.h"
#include "server/app/metrics_endpoint.h"
#include "server/app/store_stack.h"
#include "server/domain/accounts.h"
#include "server/domain/attempt_limiter.h"
#include "server/domain/audit_log.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/history_transfers.h"
#include "server/domain/key_directory.h"
#include "server/domain/scheduled_releaser.h"
#include "server/domain/sweeper.h"
#include "server/notify/digest.h"
#include "server/rpc/accounts_service.h"
#include "server/rpc/blocking_pool.h"
#include "server/rpc/call_gate.h"
#include "server/rpc/care_service.h"
#include "server/rpc/connection_acceptor.h"
#include "server/rpc/devices_service.h"
#include "server/rpc/keys_service.h"
#include "server/rpc/messages_service.h"
#include "server/rpc/metrics_interceptor.h"
#include "server/rpc/notifications_service.h"
#include "server/rpc/operator_service.h"
#include "server/rpc/parse_error_interceptor.h"
#include "server/rpc/queue_service.h"
#include "server/rpc/request_log.h"
#include "server/rpc/server_metrics.h"
#include "server/storage/postgres_leader.h"
#include "server/storage/postgres_queue_bus.h"
#include "server/storage/postgres_store.h"
#include "sotto/log.h"
#include "sotto/status_macros.h"

namespace sotto::server::rpc {

// Declared in dependency order: destroyed in reverse, the gRPC server first
// (after Shutdown), the store last.
struct SottoServer::Parts {
  // What every domain service writes through (group commit over the audit
  // chain), so audit events commit with the changes they record. Its syncer
  // acknowledges Sends and Acks once their write is on disk; stopped last in
  // Shutdown.
  std::unique_ptr<StoreStack> storage;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<KeyDirectory> keys;
  std::unique_ptr<Enrolment> enrolment;
  std::unique_ptr<Care> care;
  std::unique_ptr<ConversationQueue> conversations;
  std::unique_ptr<Mailbox> mailbox;
  std::unique_ptr<ScheduledReleaser> releaser;
  std::unique_ptr<Sweeper> sweeper;
  // PostgreSQL only: elects the one node that runs the releaser and the
  // sweeper. After them: destroyed first, so its thread never wakes a
  // releaser that is gone. Reset in Shutdown, freeing the lock at once.
  std::unique_ptr<PostgresLeader> leader;
  std::unique_ptr<SecretKey> limit_blind;  // SharedLimitStore::blind
  std::unique_ptr<AttemptLimiter> code_attempts;
  std::unique_ptr<RateLimits> limits;
  // Exports the audit head to stderr; stopped (a last line) in Shutdown.
  std::unique_ptr<AuditHeadReporter> audit_head;
  // Runs the handlers' blocking work; stopped in Shutdown after the gRPC
  // server (whose in-flight calls it finishes), and in any case destroyed
  // before the domain services and the store it uses.
  std::unique_ptr<BlockingPool> pool;
  ServerStats stats;
  LastSeen last_seen;  // in memory only; see last_seen.h
  std::unique_ptr<CallGate> gate;
  std::unique_ptr<AccountsService> accounts_service;
  // Device linkings in progress (in the store; link_slots.h).
  std::unique_ptr<LinkSlots> link_slots;
  // History archives waiting for a new device (in the store;
  // history_transfers.h).
  std::unique_ptr<HistoryTransfers> history_transfers;
  std::unique_ptr<DevicesService> devices_service;
  std::unique_ptr<KeysService> keys_service;
  std::unique_ptr<MessagesService> messages_service;
  std::unique_ptr<CareService> care_service;
  std::unique_ptr<QueueService> queue_service;
  std::unique_ptr<OperatorService> operator_service;
  // Accepts the TCP connections and hands them to `server`; stopped before
  // it.
  std::unique_ptr<ConnectionAcceptor> acceptor;
  // Null without an SMTP relay. The notifier reads the services above;
  // stopped in Shutdown.
  std::unique_ptr<NotificationSettings> notification_settings;
  std::unique_ptr<notify::Notifier> notifier;
  std::unique_ptr<NotificationsService> notifications_service;
  std::unique_ptr<grpc::Server> server;
  // Serves only sotto.v1.Operator, on the Unix socket; may be null.
  std::unique_ptr<grpc::Server> operator_server;
  // GET /metrics; may be null. Stopped first in Shutdown (its collector
  // reads the store).
  std::unique_ptr<MetricsEndpoint> metrics;
  int metrics_collector = -1;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  // The steps of SottoServer::Start, in order.
  // Opens the store stack and builds the domain services over it.
  absl::Status OpenDomain(const ServerOptions& options, Clock* clock);
  // Builds the handler pool, the call gate and the gRPC services.
  void MakeServices(const ServerOptions& options, Clock* clock);
  // With an SMTP relay: the notification key, settings and the notifier,
  // fed by the mailbox. Then the Notifications service (either way).
  absl::Status MakeNotifications(const ServerOptions& options);
  // Serves every service but Operator on options.listen_address; returns
  // the bound port.
  absl::StatusOr<int> ServeTcp(const ServerOptions& options,
                               std::shared_ptr<grpc::ServerCredentials> credentials);
  // Serves Operator on the data directory's socket (mode 0600, the
  // directory made 0700); returns its address. Shuts the TCP server down
  // if it fails.
  absl::StatusOr<std::string> ServeOperatorSocket(const ServerOptions& options);
  // Serves GET /metrics on options.metrics_listen; returns its port. Shuts
  // the gRPC servers down if it fails.
  absl::StatusOr<int> ServeMetrics(const ServerOptions& options, int grpc_port);
  // Ends the endpoint and its collector; idempotent.
  void StopMetrics();
};

namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

// Keepalive (ServerOptions::keepalive_time): pings go out on connections
// with a call open (a Subscribe stream), however long it stays quiet. In
// 1.51 a server paces its own pings by keepalive_time alone (gRPC's "pings
// without data" limits apply to clients). Connections without calls are not
// pinged: that would wake an idle phone's radio every minute, and such a
// connection holds no stream, listener or buffer. Clients may ping while a
// call is open, at most every kMinClientPingInterval; without one, gRPC's
// own rule stands (at most every 2 hours). Zero keepalive_time turns the
// server's pings off altogether (gRPC's own default would be every 2 hours).
// A connection with no call open is closed after idle_connection_timeout.
void AddKeepalive(const ServerOptions& options, grpc::ServerBuilder& builder) {
  if (options.idle_connection_timeout > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               Millis(options.idle_connection_timeout));
  }
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Millis(kMinClientPingInterval));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  if (options.keepalive_time <= absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, INT_MAX);
    return;
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options.keepalive_timeout));
}

// What gRPC 1.51 itself offers against floods on one connection (the rest
// is ConnectionAcceptor's and, for internet-facing servers, haproxy's:
// docs/OPERATIONS.md). It has no limit on streams reset by the client (the
// "rapid reset" fix, CVE-2023-44487, came in 1.56+ and Debian's 1.51.1-3
// does not carry it): bounding concurrent streams and gRPC's memory is as
// far as it goes in-process.
void AddFloodLimits(const ServerOptions& options, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(std::min<uint32_t>(options.max_streams_per_connection, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Millis(options.handshake_timeout));
  // Never share the port with another process (ConnectionAcceptor binds
  // it; this covers any port gRPC itself would open).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options.grpc_memory_bytes > 0) {
    grpc::ResourceQuota quota("sotto-server");
    quota.Resize(options.grpc_memory_bytes);
    builder.SetResourceQuota(quota);
  }
}

// For a background task's errors, which have no caller to go to: the
// operator reads them on stderr.
std::function<void(const absl::Status&)> ReportTo(std::string what) {
  return [what = std::move(what)](const absl::Status& s) {
    log::Error(absl::StrCat(what, ": ", s.message()));
  };
}

// INVALID_ARGUMENT naming the first option that cannot work.
absl::Status CheckOptions(const ServerOptions& options) {
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and its private key, got only the " +
        std::string(options.tls_cert_pem.empty() ? "key" : "certificate"));
  }
  if (const char* suites = std::getenv("GRPC_SSL_CIPHER_SUITES");
      suites != nullptr && std::string(suites) != kTlsCipherSuites) {
    return absl::InvalidArgumentError(
        absl::StrCat("GRPC_SSL_CIPHER_SUITES is set to \"", suites,
                     "\"; sotto-server serves only its documented TLS suites: unset it"));
  }
  SOTTO_RETURN_IF_ERROR(notify::CheckSmtpOptions(options.smtp));
  if (options.max_streams_per_device == 0) {
    return absl::InvalidArgumentError("max_streams_per_device must be at least 1");
  }
  if (options.idle_connection_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idle_connection_timeout must be 0 (never) or positive");
  }
  if (options.max_streams_per_connection == 0) {
    return absl::InvalidArgumentError("max_streams_per_connection must be at least 1");
  }
  if (options.handshake_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("handshake_timeout must be positive");
  }
  if (options.keepalive_time < absl::ZeroDuration() ||
      (options.keepalive_time > absl::ZeroDuration() &&
       options.keepalive_timeout <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        "keepalive_time must be 0 (off) or positive with a positive keepalive_timeout");
  }
  return absl::OkStatus();
}

// TLS with the options' certificate and key, or plain TCP without them.
std::shared_ptr<grpc::ServerCredentials> CredentialsFor(const ServerOptions& options) {
  if (options.tls_cert_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::Status SottoServer::ValidateOptions(const ServerOptions& options) {
  return CheckOptions(options);
}

namespace {

// Before issue 17 history archives were files under DATA_DIR/history-transfers;
// they are store rows now (history_transfers.h) and nothing reads the files.
// They held only sealed archives a new device had not fetched yet, deleted
// after kHistoryTransferTtlMs (24 h) anyway: removed at start, said once.
void RemoveLegacyHistoryDir(const std::string& data_dir) {
  if (data_dir.empty()) return;
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "history-transfers";
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  const std::uintmax_t removed = std::filesystem::remove_all(dir, ec);
  if (ec) {
    log::Warn(absl::StrCat("cannot remove ", dir.string(), " (history archives of an older ",
                           "sotto-server, no longer read): ", ec.message()));
    return;
  }
  log::Info(absl::StrCat("removed ", dir.string(), " (", removed,
                         " files and directories): history archives of an older sotto-server, "
                         "which are kept in the database now; unfetched ones expired within 24 h "
                         "anyway, and a device still waiting for one is told it is gone"));
}

}  // namespace

absl::Status SottoServer::Parts::OpenDomain(const ServerOptions& options, Clock* clock) {
  absl::StatusOr<std::unique_ptr<StoreStack>> opened =
      StoreStack::Open({options.data_dir, options.audit_key_file, clock, options.wrap_store,
                        options.min_free_bytes, options.store, options.store_pool_size});
  if (!opened.ok()) return opened.status();
  storage = *std::move(opened);
  RemoveLegacyHistoryDir(options.data_dir);
  Store* const db = storage->store();
  const KeyFilePaths key_files =
      ResolveKeyFilePaths(options.data_dir, {options.audit_key_file, options.code_pepper_file, ""});
  // Made whenever missing: codes stored under a lost pepper just stop
  // working, which their expiry would do anyway.
  SOTTO_ASSIGN_OR_RETURN(SecretKey pepper, LoadKeyFile(key_files.code_pepper, /*create=*/true));
  SOTTO_ASSIGN_OR_RETURN(size_t rekeyed, MigrateLegacyCodeKeys(db, pepper));
  if (rekeyed > 0) {
    log::Info(absl::StrCat("note: re-keyed ", rekeyed,
                           " stored enrolment/invite codes under the code pepper"));
  }
  // Names the shared limits' rows (shared_limit_store.h): from the pepper,
  // so every node of one database has it, and under a label of its own.
  SOTTO_ASSIGN_OR_RETURN(SecretKey blind,
                         SecretKey::FromBytes(pepper.Mac({"sotto shared limit rows v1"})));
  limit_blind = std::make_unique<SecretKey>(std::move(blind));
  accounts = std::make_unique<Accounts>(db);
  keys = std::make_unique<KeyDirectory>(db, accounts.get());
  enrolment = std::make_unique<Enrolment>(db, accounts.get(), clock, std::move(pepper));
  // On PostgreSQL the limits on guessing count in the database, shared by
  // every node (rate_limiter.h, attempt_limiter.h).
  const SharedLimitStore shared_limits{IsPostgresUrl(options.store) ? db : nullptr,
                                       limit_blind.get()};
  limits = std::make_unique<RateLimits>(clock, options.rate_limits, shared_limits);
  care = std::make_unique<Care>(
      db, accounts.get(), enrolment.get(), clock, options.emergency_note,
      CareOptions{options.max_links_per_user, &limits->invites_per_therapist});
  conversations = std::make_unique<ConversationQueue>(db, care.get(), clock);
  mailbox = std::make_unique<Mailbox>(db, accounts.get(), clock, options.mailbox, care.get(),
                                      conversations.get());
  if (IsPostgresUrl(options.store)) {
    // Streams held here hear of Sends made through the other nodes.
    SOTTO_ASSIGN_OR_RETURN(
        std::unique_ptr<QueueBus> bus,
        StartPostgresQueueBus(options.store, mailbox->listeners()->BusHandlers()));
    mailbox->listeners()->ConnectBus(std::move(bus));
  }
  releaser = std::make_unique<ScheduledReleaser>(mailbox.get(), clock,
                                                 ReportTo("releasing scheduled messages failed"));
  ScheduledReleaser* const wake = releaser.get();
  mailbox->SetScheduleListener([wake](int64_t) { wake->Wake(); });
  sweeper = std::make_unique<Sweeper>(mailbox.get(), enrolment.get(), care.get(),
                                      ReportTo("sweeping expired records failed"));
  if (IsPostgresUrl(options.store)) {
    Sweeper* const sweep = sweeper.get();
    leader = std::make_unique<PostgresLeader>(options.store, [wake, sweep](bool leads) {
      if (!leads) return;
      wake->Wake();   // what fell due while nobody led
      sweep->Wake();  // what expired meanwhile (the start-up sweep, skipped until elected)
    });
    PostgresLeader* const elected = leader.get();
    releaser->SetLeaderCheck([elected] { return elected->held(); });
    sweeper->SetLeaderCheck([elected] { return elected->held(); });
  }
  code_attempts = std::make_unique<AttemptLimiter>(clock, shared_limits);
  link_slots = std::make_unique<LinkSlots>(db, clock);
  history_transfers = std::make_unique<HistoryTransfers>(db, clock);
  LinkSlots* const slots = link_slots.get();
  HistoryTransfers* const archives = history_transfers.get();
  Mailbox* const queues = mailbox.get();
  sweeper->AddSweep([queues] { return queues->SweepRemovedQueues().status(); });
  sweeper->AddSweep([slots] { return slots->SweepExpired().status(); });
  sweeper->AddSweep([archives] { return archives->SweepExpired().status(); });
  if (shared_limits.store != nullptr) {
    AttemptLimiter* const attempts = code_attempts.get();
    RateLimiter* const failed_auth = &limits->failed_auth;
    sweeper->AddSweep([attempts] { return attempts->SweepExpired().status(); });
    sweeper->AddSweep([failed_auth] { return failed_auth->SweepFull().status(); });
  }
  audit_head =
      std::make_unique<AuditHeadReporter>(storage->audit(), options.audit_head_interval,
                                          [](const std::string& line) { log::Info(line); });
  return absl::OkStatus();
}

void SottoServer::Parts::MakeServices(const ServerOptions& options, Clock* clock) {
  Store* const db = storage->store();
  AuditLog* const audit = storage->audit();
  pool = std::make_unique<BlockingPool>(options.io_threads, options.io_queue);
  gate =
      std::make_unique<CallGate>(accounts.get(), audit, db, limits.get(), pool.get(), &last_seen);
  accounts_service =
      std::make_unique<AccountsService>(gate.get(), care.get(), code_attempts.get(), clock);
  devices_service = std::make_unique<DevicesService>(
      gate.get(), link_slots.get(), history_transfers.get(), mailbox.get(), &last_seen, clock);
  keys_service = std::make_unique<KeysService>(gate.get(), keys.get(), care.get());
  messages_service = std::make_unique<MessagesService>(
      gate.get(), mailbox.get(), &stats, options.max_streams_per_device,
      /*send_on_pool=*/IsPostgresUrl(options.store));
  // A deactivated or deleted account's open streams end with it. Set
  // before serving; nothing closes an account once the services are gone.
  MessagesService* const streams = messages_service.get();
  LastSeen* const seen = &last_seen;
  HistoryTransfers* const archives = history_transfers.get();
  accounts->SetClosedListener(
      [streams, seen, archives](absl::string_view handle, Accounts::Closed why) {
        streams->EndStreamsOf(handle, why);
        if (why == Accounts::Closed::kDeleted) {
          seen->Forget(handle);
          archives->DropAccount(handle);
        }
      });
  // A removed device keeps nothing open: its streams end at once (a stolen
  // laptop's stream must not read on), the link codes it opened die, and
  // its last-seen hour is forgotten.
  LinkSlots* const slots = link_slots.get();
  accounts->SetDeviceRemovedListener(
      [streams, seen, slots, archives](absl::string_view handle, uint32_t device_id) {
        streams->EndStreamsOfDevice(handle, device_id);
        slots->CancelCreatedBy(handle, device_id);
        archives->DropCreatedBy(handle, device_id);
        seen->ForgetDevice(handle, device_id);
      });
  care_service = std::make_unique<CareService>(gate.get(), care.get(), code_attempts.get());
  queue_service = std::make_unique<QueueService>(gate.get(), conversations.get());
  operator_service = std::make_unique<OperatorService>(
      enrolment.get(), audit, accounts.get(), &stats, db, pool.get(), &last_seen, options.data_dir,
      ResolveKeyFilePaths(options.data_dir,
                          {options.audit_key_file, options.code_pepper_file, ""}));
}

absl::Status SottoServer::Parts::MakeNotifications(const ServerOptions& options) {
  Store* const db = storage->store();
  if (!options.smtp.relay.empty()) {
    const KeyFilePaths key_files =
        ResolveKeyFilePaths(options.data_dir, {"", "", options.notification_key_file});
    SOTTO_ASSIGN_OR_RETURN(SecretKey key, LoadKeyFile(key_files.notification_key, /*create=*/true));
    notification_settings = std::make_unique<NotificationSettings>(db, std::move(key));
    NotificationSettings* const settings = notification_settings.get();
    MessagesService* const streams = messages_service.get();
    ConversationQueue* const queue = conversations.get();
    Care* const care_links = care.get();
    notify::NotifierHooks hooks;
    hooks.setting = [settings](const std::string& h) { return settings->Get(h); };
    hooks.streaming = [streams](const std::string& h) { return streams->HasOpenStream(h); };
    hooks.digest = [queue, care_links](const std::string& h) {
      return notify::TherapistDigest(queue, care_links, h);
    };
    hooks.log = [](const std::string& line) {
      std::cerr << "sotto-server: notifications: " << line << "\n";
    };
    notifier = std::make_unique<notify::Notifier>(
        std::make_unique<notify::SmtpMailer>(options.smtp), std::move(hooks), options.notify);
    SOTTO_ASSIGN_OR_RETURN(std::vector<NotificationTarget> targets, settings->ListTargets());
    notifier->Watch(targets);
    notify::Notifier* const mail = notifier.get();
    mailbox->SetMessageListener([mail](absl::string_view h) { mail->OnMessage(h); });
  }
  notifications_service = std::make_unique<NotificationsService>(
      gate.get(), db, notification_settings.get(), notifier.get());
  return absl::OkStatus();
}

absl::StatusOr<int> SottoServer::Parts::ServeTcp(
    const ServerOptions& options, std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  SOTTO_ASSIGN_OR_RETURN(
      acceptor, ConnectionAcceptor::Listen({options.listen_address, options.max_connections,
                                            options.max_connections_per_address}));
  grpc::ServerBuilder builder;
  // No port of gRPC's own: connections come from `acceptor`.
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> sink =
      builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
          std::move(credentials));
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  AddKeepalive(options, builder);
  AddFloodLimits(options, builder);
  // One list: gRPC keeps only the last one it is given. Interceptors run in
  // this order, so the metrics and the request log see the status after the
  // parse-error rewrite (INVALID_ARGUMENT, not gRPC's UNIMPLEMENTED).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<ParseErrorInterceptorFactory>(std::vector<std::string>{
      sotto::v1::Accounts::service_full_name(), sotto::v1::Keys::service_full_name(),
      sotto::v1::Messages::service_full_name(), sotto::v1::Care::service_full_name(),
      sotto::v1::Queue::service_full_name(), sotto::v1::Notifications::service_full_name()}));
  interceptors.push_back(MakeMetricsInterceptor());
  interceptors.push_back(MakeRequestLogFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(accounts_service.get());
  builder.RegisterService(devices_service.get());
  builder.RegisterService(keys_service.get());
  builder.RegisterService(messages_service.get());
  builder.RegisterService(care_service.get());
  builder.RegisterService(queue_service.get());
  builder.RegisterService(notifications_service.get());
  // Not the Operator service: it is for the Unix socket only.
  server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot serve on ", options.listen_address));
  }
  acceptor->Start(std::move(sink));
  return acceptor->port();
}

absl::StatusOr<std::string> SottoServer::Parts::ServeOperatorSocket(const ServerOptions& options) {
  // Only the owner may enter the data directory, so nobody else can reach
  // the socket even in the moment before its own mode is set.
  std::error_code ec;
  std::filesystem::permissions(options.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot restrict data directory ", options.data_dir, ": ", ec.message()));
  }
  std::string path = (std::filesystem::path(options.data_dir) / kOperatorSocketName).string();
  // A socket left by a server that crashed: we hold the database lock, so
  // no live server owns it.
  std::filesystem::remove(path, ec);
  std::string address = absl::StrCat("unix:", path);
  grpc::ServerBuilder op_builder;
  int selected = 0;
  op_builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected);
  op_builder.RegisterService(operator_service.get());
  operator_server = op_builder.BuildAndStart();
  if (operator_server == nullptr || selected == 0) {
    acceptor->Stop();
    server->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on the operator socket ", path));
  }
  if (chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) {
    acceptor->Stop();
    server->Shutdown();
    operator_server->Shutdown();
    return absl::FailedPreconditionError(absl::StrCat("cannot chmod ", path));
  }
  return address;
}

absl::StatusOr<int> SottoServer::Parts::ServeMetrics(const ServerOptions& options, int grpc_port) {
  metrics_collector = metrics::Global().AddCollector(
      ServerCollector({&stats, storage->store(), options.data_dir, grpc_port, stats.started}));
  MetricsEndpointOptions endpoint;
  endpoint.listen = options.metrics_listen;
  endpoint.render = [] { return metrics::Global().Render(); };
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> started =
      MetricsEndpoint::Start(std::move(endpoint));
  if (!started.ok()) {
    StopMetrics();
    server->Shutdown();
    if (operator_server) operator_server->Shutdown();
    return started.status();
  }
  metrics = *std::move(started);
  return metrics->port();
}

void SottoServer::Parts::StopMetrics() {
  if (metrics) metrics->Stop();
  if (metrics_collector >= 0) metrics::Global().RemoveCollector(metrics_collector);
  metrics_collector = -1;
}

SottoServer::SottoServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

absl::StatusOr<std::unique_ptr<SottoServer>> SottoServer::Start(const ServerOptions& options) {
  SOTTO_RETURN_IF_ERROR(CheckOptions(options));
  std::shared_ptr<grpc::ServerCredentials> credentials = CredentialsFor(options);
  // Debian's Abseil is built with mutex deadlock detection on: every Lock
  // updates a global lock-order graph (GraphCycles) behind one global
  // mutex, which showed up in the ingest profile. Our lock order is kept by
  // construction (StripedLock sorts its stripes). Process-wide, so this
  // also covers tests that start servers in-process.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto parts = std::make_unique<Parts>();
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock::Get();
  SOTTO_RETURN_IF_ERROR(parts->OpenDomain(options, clock));
  parts->MakeServices(options, clock);
  SOTTO_RETURN_IF_ERROR(parts->MakeNotifications(options));
  SOTTO_ASSIGN_OR_RETURN(const int port, parts->ServeTcp(options, std::move(credentials)));
  std::string operator_address;
  if (options.operator_socket) {
    SOTTO_ASSIGN_OR_RETURN(operator_address, parts->ServeOperatorSocket(options));
  }
  int metrics_port = 0;
  if (!options.metrics_listen.empty()) {
    SOTTO_ASSIGN_OR_RETURN(metrics_port, parts->ServeMetrics(options, port));
  }
  // Releases what fell due while the server was down, then keeps watch.
  parts->releaser->Start();
  // Deletes expired idempotency records and codes, now and periodically.
  parts->sweeper->Start();
  parts->audit_head->Start();
  if (parts->notifier) parts->notifier->Start();

  auto server = std::unique_ptr<SottoServer>(new SottoServer(std::move(parts)));
  server->port_ = port;
  server->metrics_port_ = metrics_port;
  std::string host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  server->address_ = absl::StrCat(host, ":", port);
  server->operator_address_ = operator_address;
  return server;
}

absl::StatusOr<IssuedCode> SottoServer::IssueEnrolmentCode(const std::string& handle,
                                                           uint32_t valid_hours) {
  return parts_->enrolment->IssueTherapistCode(handle, valid_hours);
}

void SottoServer::WakeReleaser() { parts_->releaser->Wake(); }

bool SottoServer::leads() const {
  absl::MutexLock lock(&parts_->shutdown_mu);
  if (parts_->shut_down) return false;
  return parts_->leader == nullptr || parts_->leader->held();
}

absl::Status SottoServer::ReleaseDueNow() { return parts_->mailbox->ReleaseDue().status(); }

void SottoServer::Shutdown(absl::Duration deadline) {
  absl::MutexLock lock(&parts_->shutdown_mu);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  // First: gRPC leaks a connection handed to it once it is shutting down.
  parts_->acceptor->Stop();
  parts_->StopMetrics();
  if (parts_->operator_server) {
    parts_->operator_server->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  }
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  // gRPC's Shutdown returns once every call has been Finished (by the pool's
  // workers, or by the store's syncer for Sends and Acks, which keeps
  // running);
  // anything still queued in the pool runs (or ends CANCELLED) here, before
  // the store can close.
  parts_->pool->Stop();
  // After the servers: no Send can schedule more. A release in progress
  // completes (its write is atomic either way).
  parts_->releaser->Stop();
  parts_->sweeper->Stop();
  // Another node may lead from now on.
  parts_->leader.reset();
  // Pending mails are abandoned (docs/OPERATIONS.md, "Notifications").
  if (parts_->notifier) parts_->notifier->Stop();
  // After everything that writes audit entries: the last head printed is
  // the chain's last.
  parts_->audit_head->Stop();
  // Last: the releaser's and sweeper's synced writes wait on it. (It also
  // syncs by itself for any write that comes later.)
  parts_->storage->StopSyncing();
}

void SottoServer::Wait() { parts_->server->Wait(); }

SottoServer::~SottoServer() {
  Shutdown();
  parts_->server->Wait();
  parts_->server.reset();
  if (parts_->operator_server) {
    parts_->operator_server->Wait();
    parts_->operator_server.reset();
  }
}

}  // namespace sotto::server::rpc
