// sotto-server [--config FILE] [--log-level L] [--log-format text|json]
//              [--data-dir DIR] [--store postgres://... [--store-pool-size N]]
//              [--listen HOST:PORT]
//              [--emergency-note TEXT]
//              [--tls-cert PEM --tls-key PEM] [--retention-days N]
//              [--max-queue-mib N] [--min-free-mib N] [--io-threads N] [--rate-NAME BURST/PER_HOUR
//              ...]
//              [--audit-key-file F] [--code-pepper-file F] [--audit-head-minutes N]
//              [--metrics-listen HOST:PORT [--metrics-allow-remote]]
//              [--smtp-relay HOST:PORT --smtp-from ADDR [--smtp-starttls ...]]
//
// Stdout contract (tests parse it): once serving, exactly one line
//   sotto-server listening on HOST:PORT
// with the bound port. Startup errors are one line on stderr and a non-zero
// exit (2 for a bad flag or config value). Once started, every other line
// goes through the logger (sotto/log.h). SIGINT/SIGTERM shut down
// gracefully and close the database.

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/app/open_files.h"
#include "server/cli/commands.h"
#include "server/cli/config_file.h"
#include "server/cli/options.h"
#include "server/domain/limits.h"
#include "server/domain/rate_limiter.h"
#include "server/rpc/server.h"
#include "server/storage/postgres_store.h"
#include "sotto/log.h"
#include "sotto/loopback.h"

namespace sotto::server::cli {
namespace {

struct RateFlag {
  const char* name;
  BucketConfig RateLimitOptions::*config;
  const char* help;
};
constexpr RateFlag kRateFlags[] = {
    {"--rate-registration", &RateLimitOptions::registration, "accounts created per source address"},
    {"--rate-failed-auth", &RateLimitOptions::failed_auth,
     "failed authentications per source address"},
    {"--rate-bundle-requester", &RateLimitOptions::bundle_per_requester,
     "GetBundle calls per requesting device"},
    {"--rate-bundle-target", &RateLimitOptions::bundle_per_target,
     "one-time prekeys handed out per target user (then bundles come without)"},
    {"--rate-sends", &RateLimitOptions::sends_per_device, "Send calls per device"},
    {"--rate-invites", &RateLimitOptions::invites_per_therapist,
     "CreateInvite calls per therapist"},
    {"--rate-link", &RateLimitOptions::link_relay,
     "unauthenticated device-linking calls per source address"},
    {"--rate-link-codes", &RateLimitOptions::link_codes_per_account,
     "link codes (CreateLinkSlot calls) per account"},
};

uint32_t Seconds(absl::Duration d) { return static_cast<uint32_t>(absl::ToInt64Seconds(d)); }

// The serving flags as typed; ToServerOptions checks them.
struct ServeFlags {
  std::string config;  // --config: the TOML file of these flags, if any
  std::string log_level = "info";
  std::string log_format = "text";
  std::string data_dir = "./var";
  std::string store;
  size_t store_pool_size = PostgresStoreOptions().max_connections;
  std::string listen = "127.0.0.1:7443";
  std::string emergency_note = kDefaultEmergencyNote;
  std::string tls_cert;
  std::string tls_key;
  KeyFilePaths keys;
  uint32_t audit_head_minutes = 60;
  uint32_t retention_days = kDefaultRetentionMs / (24 * 3600 * 1000);
  uint64_t max_queue_mib = kMaxQueueBytes >> 20;
  uint64_t min_free_mib = rpc::ServerOptions().min_free_bytes >> 20;
  size_t io_threads = rpc::ServerOptions().io_threads;
  size_t max_streams = rpc::ServerOptions().max_streams_per_device;
  uint32_t keepalive_s = Seconds(rpc::ServerOptions().keepalive_time);
  uint32_t keepalive_timeout_s = Seconds(rpc::ServerOptions().keepalive_timeout);
  uint32_t idle_connection_s = Seconds(rpc::ServerOptions().idle_connection_timeout);
  size_t max_connections = 0;  // 0: derived from the open-files limit
  size_t max_per_address = rpc::ServerOptions().max_connections_per_address;
  uint32_t max_streams_per_connection = rpc::ServerOptions().max_streams_per_connection;
  uint64_t grpc_memory_mib = rpc::ServerOptions().grpc_memory_bytes >> 20;
  uint32_t handshake_timeout_s = Seconds(rpc::ServerOptions().handshake_timeout);
  uint64_t min_open_files = 4096;
  std::vector<std::string> rates;  // BURST/PER_HOUR, one per kRateFlags entry.
  std::string metrics_listen;      // empty: no metrics endpoint
  bool metrics_allow_remote = false;
  // Notifications (docs/OPERATIONS.md, "Notifications").
  notify::SmtpOptions smtp;
  std::string smtp_password_file;
  uint32_t notify_delay_s = Seconds(notify::NotifierOptions().delay);
  uint32_t notify_quiet_minutes = 60;
  uint32_t notify_retry_s = Seconds(notify::NotifierOptions().first_retry);
};

void AddConfigAndLogFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--config", f.config,
                 "TOML file setting any of these flags (key: the flag without --); a flag "
                 "given here wins over the file");
  app.add_option("--log-level", f.log_level, "error, warn, info (with the request log) or debug")
      ->capture_default_str();
  app.add_option("--log-format", f.log_format, "text, or json: one JSON object per line")
      ->capture_default_str();
}

void AddPlaceFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--data-dir", f.data_dir, "RocksDB data directory (created if missing)")
      ->capture_default_str();
  app.add_option("--store", f.store,
                 "postgres://USER@HOST:PORT/DB: keep the data in that PostgreSQL database "
                 "instead of RocksDB (--data-dir still holds the key files; docs/DEPLOYING.md)");
  app.add_option("--store-pool-size", f.store_pool_size,
                 "connections to a PostgreSQL --store this node keeps open at most, for "
                 "requests (3 more: live delivery and the leader; docs/DEPLOYING.md, "
                 "\"Connection pooling\"); ignored without --store")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  app.add_option("--listen", f.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--emergency-note", f.emergency_note,
                 "shown to clients with every reply expectation");
  app.add_option("--tls-cert", f.tls_cert,
                 "PEM certificate chain to serve TLS with (needs --tls-key)");
  app.add_option("--tls-key", f.tls_key, "PEM private key of --tls-cert");
  AddKeyFileOptions(&app, &f.keys);
  app.add_option("--audit-head-minutes", f.audit_head_minutes,
                 "print the audit chain's head (\"audit head SEQ:HEX\") to stderr this often "
                 "when it moved, for anchoring in a second system")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{7 * 24 * 60}));
}

void AddMetricsFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--metrics-listen", f.metrics_listen,
                 "serve Prometheus metrics (plain HTTP, GET /metrics) on HOST:PORT; "
                 "loopback only unless --metrics-allow-remote; default: off");
  app.add_flag("--metrics-allow-remote", f.metrics_allow_remote,
               "allow --metrics-listen off loopback (metrics show activity levels; "
               "firewall it to the monitoring host)");
}

// --metrics-listen: HOST:PORT, and on loopback unless allowed. Metrics hold
// no content and no handle, but their counts show when a practice is
// active; off loopback they travel unencrypted.
absl::Status CheckMetricsPlace(const ServeFlags& f) {
  if (f.metrics_listen.empty()) return absl::OkStatus();
  const size_t colon = f.metrics_listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(f.metrics_listen).substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError("--metrics-listen must be HOST:PORT, got \"" +
                                      f.metrics_listen + "\"");
  }
  const std::string host = f.metrics_listen.substr(0, colon);
  if (IsLoopbackHost(host) || f.metrics_allow_remote) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "--metrics-listen " + f.metrics_listen +
      " is off loopback: metrics show activity levels and travel as plain HTTP; listen on "
      "127.0.0.1 (and scrape through SSH or a local agent), or pass --metrics-allow-remote");
}

void AddCapacityFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--retention-days", f.retention_days,
                 "delete undelivered envelopes after this many days (0: keep)")
      ->capture_default_str();
  app.add_option("--max-queue-mib", f.max_queue_mib, "undelivered bytes per device queue, in MiB")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  app.add_option("--min-free-mib", f.min_free_mib,
                 "free space (MiB) kept on the data directory's file system: below it new "
                 "messages, accounts and keys are refused (RESOURCE_EXHAUSTED) while fetches and "
                 "acks go on; a quarter of it (at most 64 MiB) is held as a ballast file given "
                 "back when the disk fills anyway. 0: no reserve")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  app.add_option("--io-threads", f.io_threads,
                 "threads for handlers' store work; concurrent synced writes share a WAL sync")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  app.add_option("--max-streams-per-device", f.max_streams,
                 "Subscribe streams one device may hold; one more ends its oldest")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
}

void AddConnectionFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--keepalive-seconds", f.keepalive_s,
                 "ping a connection with a call open after this long quiet; 0: never "
                 "(a vanished client's quiet stream stays until a write to it fails)")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{0}, uint32_t{24 * 3600}));
  app.add_option("--keepalive-timeout-seconds", f.keepalive_timeout_s,
                 "close a connection whose ping goes unanswered this long")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{3600}));
  app.add_option("--idle-connection-seconds", f.idle_connection_s,
                 "close a connection with no call open for this long; 0: never")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{0}, uint32_t{7 * 24 * 3600}));
}

void AddFloodFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--max-connections", f.max_connections,
                 "TCP connections open at once; past it new ones are closed "
                 "(0: the open-files limit less an eighth, at least 256, kept for the database)")
      ->capture_default_str();
  app.add_option("--max-connections-per-address", f.max_per_address,
                 "TCP connections open at once from one source IP address (0: no limit; "
                 "behind a proxy set 0 and limit per source there)")
      ->capture_default_str();
  app.add_option("--max-streams-per-connection", f.max_streams_per_connection,
                 "HTTP/2 streams (calls) open at once on one connection; clients queue past it")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{1} << 20));
  app.add_option("--grpc-memory-mib", f.grpc_memory_mib,
                 "memory gRPC may use for connection buffers, all together (0: no quota)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  app.add_option("--handshake-timeout-seconds", f.handshake_timeout_s,
                 "close a connection that has not finished TLS and HTTP/2 setup after this long")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{600}));
  app.add_option("--min-open-files", f.min_open_files,
                 "refuse to start if the open-files limit, raised to its hard limit, is lower "
                 "(every connection holds one; 0: do not check)")
      ->capture_default_str();
}

void AddRateFlags(CLI::App& app, ServeFlags& f) {
  const RateLimitOptions defaults;
  f.rates.resize(std::size(kRateFlags));
  for (size_t i = 0; i < std::size(kRateFlags); ++i) {
    const BucketConfig& d = defaults.*kRateFlags[i].config;
    f.rates[i] = absl::StrCat(d.burst, "/", d.per_hour);
    app.add_option(
           kRateFlags[i].name, f.rates[i],
           std::string(kRateFlags[i].help) + ": BURST/PER_HOUR token bucket (0/0: no limit)")
        ->capture_default_str();
  }
}

void AddNotifyFlags(CLI::App& app, ServeFlags& f) {
  app.add_option("--smtp-relay", f.smtp.relay,
                 "HOST:PORT of the SMTP relay for content-free email notifications "
                 "(unset: no notifications)");
  app.add_option("--smtp-from", f.smtp.from, "sender address of notification mails");
  app.add_option("--notify-key-file", f.keys.notification_key,
                 "the key sealing stored notification addresses, outside the data directory "
                 "(default DATA_DIR.notify-key)");
  app.add_flag("--smtp-starttls", f.smtp.starttls,
               "require STARTTLS to the relay (certificate checked)");
  app.add_option("--smtp-ca-file", f.smtp.ca_file, "CA bundle for the relay's certificate");
  app.add_option("--smtp-user", f.smtp.username, "SMTP AUTH user (needs --smtp-starttls)");
  app.add_option("--smtp-password-file", f.smtp_password_file,
                 "file holding the SMTP AUTH password (kept out of the process list)");
  app.add_option("--notify-delay-seconds", f.notify_delay_s,
                 "from a first message to its mail (a burst within it gives one mail)")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{0}, uint32_t{24 * 3600}));
  app.add_option("--notify-quiet-minutes", f.notify_quiet_minutes,
                 "at most one notification mail per person this often")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{7 * 24 * 60}));
  app.add_option("--notify-retry-seconds", f.notify_retry_s,
                 "first retry after the relay failed (doubling up to 10 minutes)")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{600}));
}

// The notification flags into `options`: the password read from its file.
absl::Status ToNotifyOptions(const ServeFlags& f, rpc::ServerOptions& options) {
  options.smtp = f.smtp;
  options.notification_key_file = f.keys.notification_key;
  if (!f.smtp_password_file.empty()) {
    std::ifstream in(f.smtp_password_file);
    if (!in) {
      return absl::NotFoundError("--smtp-password-file: cannot read " + f.smtp_password_file);
    }
    std::getline(in, options.smtp.password);
  }
  options.notify.delay = absl::Seconds(f.notify_delay_s);
  options.notify.quiet_period = absl::Minutes(f.notify_quiet_minutes);
  options.notify.first_retry = absl::Seconds(f.notify_retry_s);
  return notify::CheckSmtpOptions(options.smtp);
}

// The whole of file `path`. Errors: one line naming the flag and the path.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(flag + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(flag + ": " + path + " is not a PEM file");
  }
  return ss.str();
}

// --listen, --tls-cert and --tls-key into `options`: HOST:PORT, both TLS
// files or neither, and plain TCP only on loopback.
absl::Status CheckPlace(const ServeFlags& f, rpc::ServerOptions& options) {
  const size_t colon = f.listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(f.listen).substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError("--listen must be HOST:PORT, got \"" + f.listen + "\"");
  }
  const std::string host = f.listen.substr(0, colon);
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.tls_cert.empty() ? "--tls-key" : "--tls-cert", " needs ",
                     f.tls_cert.empty() ? "--tls-cert" : "--tls-key",
                     " too: TLS takes a certificate and its private key"));
  }
  if (f.tls_cert.empty()) {
    if (IsLoopbackHost(host)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "TLS is required to listen off loopback (" + host +
        "); pass --tls-cert and --tls-key, or listen on 127.0.0.0/8, ::1 or localhost");
  }
  absl::StatusOr<std::string> cert = ReadPemFile("--tls-cert", f.tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("--tls-key", f.tls_key);
  if (!key.ok()) return key.status();
  options.tls_cert_pem = *std::move(cert);
  options.tls_key_pem = *std::move(key);
  return absl::OkStatus();
}

absl::StatusOr<RateLimitOptions> ParseRates(const ServeFlags& f) {
  RateLimitOptions limits;
  for (size_t i = 0; i < std::size(kRateFlags); ++i) {
    std::vector<absl::string_view> parts = absl::StrSplit(f.rates[i], '/');
    double burst = 0;
    double per_hour = 0;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &burst) ||
        !absl::SimpleAtod(parts[1], &per_hour) || burst < 0 || per_hour < 0 ||
        (per_hour > 0 && burst < 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kRateFlags[i].name,
                       " must be BURST/PER_HOUR with BURST >= 1 (or 0/0 for no limit), got \"",
                       f.rates[i], "\""));
    }
    limits.*kRateFlags[i].config = BucketConfig{burst, per_hour};
  }
  return limits;
}

// The server's options from the flags; INVALID_ARGUMENT (exit 2) or
// NOT_FOUND (an unreadable TLS file, also exit 2) naming the flag.
absl::StatusOr<rpc::ServerOptions> ToServerOptions(const ServeFlags& f) {
  rpc::ServerOptions options;
  absl::Status place = CheckPlace(f, options);
  if (!place.ok()) return place;
  absl::Status metrics_place = CheckMetricsPlace(f);
  if (!metrics_place.ok()) return metrics_place;
  options.metrics_listen = f.metrics_listen;
  absl::StatusOr<RateLimitOptions> limits = ParseRates(f);
  if (!limits.ok()) return limits.status();
  options.rate_limits = *limits;
  options.data_dir = f.data_dir;
  if (!f.store.empty() && !IsPostgresUrl(f.store)) {
    return absl::InvalidArgumentError("--store must be a postgres:// URL, got \"" +
                                      RedactPostgresUrl(f.store) + "\"");
  }
  options.store = f.store;
  options.store_pool_size = f.store_pool_size;
  options.audit_key_file = f.keys.audit_key;
  options.code_pepper_file = f.keys.code_pepper;
  options.audit_head_interval = absl::Minutes(f.audit_head_minutes);
  options.listen_address = f.listen;
  options.emergency_note = f.emergency_note;
  options.mailbox.retention_ms = int64_t{f.retention_days} * 24 * 3600 * 1000;
  // See MailboxOptions::seq_floor: no seq a device may have seen before a
  // crash is ever given to another envelope.
  options.mailbox.seq_floor = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())) << 20;
  options.mailbox.max_queue_bytes = f.max_queue_mib << 20;
  options.min_free_bytes = f.min_free_mib << 20;
  options.io_threads = f.io_threads;
  options.io_queue = 64 * f.io_threads;
  options.max_streams_per_device = f.max_streams;
  options.keepalive_time = absl::Seconds(f.keepalive_s);
  options.keepalive_timeout = absl::Seconds(f.keepalive_timeout_s);
  options.idle_connection_timeout = absl::Seconds(f.idle_connection_s);
  options.max_connections = f.max_connections;
  options.max_connections_per_address = f.max_per_address;
  options.max_streams_per_connection = f.max_streams_per_connection;
  options.grpc_memory_bytes = static_cast<size_t>(f.grpc_memory_mib << 20);
  options.handshake_timeout = absl::Seconds(f.handshake_timeout_s);
  if (absl::Status s = ToNotifyOptions(f, options); !s.ok()) return s;
  return options;
}

// Raises the open-files limit to the hard limit; FAILED_PRECONDITION below
// --min-open-files. Derives max_connections from it unless set.
absl::Status CheckOpenFiles(const ServeFlags& f, rpc::ServerOptions& options) {
  absl::StatusOr<uint64_t> limit = RaiseOpenFilesLimit();
  if (!limit.ok()) return limit.status();
  if (*limit < f.min_open_files) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the open-files limit is ", *limit, " (its hard limit), below --min-open-files ",
        f.min_open_files,
        ": every connection holds one, and a flood of idle connections would use them up; "
        "raise it (LimitNOFILE= in the systemd unit, or ulimit -Hn) or pass "
        "--min-open-files 0 to start anyway"));
  }
  if (options.max_connections == 0) {
    const uint64_t kept = std::max<uint64_t>(256, *limit / 8);
    options.max_connections = static_cast<size_t>(*limit > 2 * kept ? *limit - kept : *limit / 2);
  }
  return absl::OkStatus();
}

// --config applied to `app`, then every flag checked.
absl::StatusOr<ServeConfig> Load(CLI::App& app, const ServeFlags& f) {
  if (!f.config.empty()) {
    absl::Status applied = ApplyConfigFile(app, f.config, {"config", "help", "version"});
    if (!applied.ok()) return applied;
  }
  ServeConfig config;
  absl::StatusOr<log::Level> level = log::ParseLevel(f.log_level);
  if (!level.ok())
    return absl::InvalidArgumentError(absl::StrCat("--log-level: ", level.status().message()));
  absl::StatusOr<log::Format> format = log::ParseFormat(f.log_format);
  if (!format.ok())
    return absl::InvalidArgumentError(absl::StrCat("--log-format: ", format.status().message()));
  config.log = {*level, *format};
  absl::StatusOr<rpc::ServerOptions> options = ToServerOptions(f);
  if (!options.ok()) return options.status();
  config.server = *std::move(options);
  return config;
}

// Starts the server, prints the stdout contract line, serves until SIGINT
// or SIGTERM, then shuts down gracefully.
int Serve(CLI::App& app, const ServeFlags& f) {
  absl::StatusOr<ServeConfig> config = Load(app, f);
  if (!config.ok()) {
    // Before the logger knows its format: for the person who started it.
    for (absl::string_view line : absl::StrSplit(config.status().message(), '\n')) {
      std::cerr << "sotto-server: " << line << "\n";
    }
    return 2;
  }
  log::Configure(config->log);
  rpc::ServerOptions* const options = &config->server;
  absl::Status fds = CheckOpenFiles(f, *options);
  if (!fds.ok()) {
    std::cerr << "sotto-server: " << fds.message() << "\n";
    return 1;
  }
  // Block the shutdown signals in every thread (gRPC's included); the main
  // thread takes them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = rpc::SottoServer::Start(*options);
  if (!server.ok()) {
    log::Error(server.status().message());
    return 1;
  }
  if (!f.tls_cert.empty()) {
    log::Info("note: serving TLS with " + f.tls_cert);
  } else {
    log::Info("note: listening without TLS (loopback only)");
  }
  if ((*server)->metrics_port() != 0) {
    const std::string& m = f.metrics_listen;
    std::cerr << "sotto-server: note: metrics on http://" << m.substr(0, m.rfind(':')) << ":"
              << (*server)->metrics_port() << "/metrics\n";
  }
  std::cout << "sotto-server listening on " << (*server)->address() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  (*server)->Shutdown(absl::Seconds(3));
  server->reset();  // Waits for handlers, then closes RocksDB.
  return 0;
}

}  // namespace

ServeCommand AddServeFlags(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  AddConfigAndLogFlags(app, *flags);
  AddPlaceFlags(app, *flags);
  AddCapacityFlags(app, *flags);
  AddConnectionFlags(app, *flags);
  AddFloodFlags(app, *flags);
  AddRateFlags(app, *flags);
  AddMetricsFlags(app, *flags);
  AddNotifyFlags(app, *flags);
  // `app` outlives both: main() owns it and runs them.
  return {[flags, &app] { return Serve(app, *flags); },
          [flags, &app] { return Load(app, *flags); }};
}

}  // namespace sotto::server::cli
