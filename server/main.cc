// sotto-server [--data-dir DIR] [--listen HOST:PORT] [--emergency-note TEXT]
//              [--tls-cert PEM --tls-key PEM] [--retention-days N]
//              [--max-queue-mib N] [--io-threads N] [--rate-NAME BURST/PER_HOUR ...]
// sotto-server enrol-therapist --data-dir DIR --name HANDLE [--valid-hours N] [--quiet]
//
// Stdout contract (tests parse it): once serving, exactly one line
//   sotto-server listening on HOST:PORT
// with the bound port. Startup errors are one line on stderr and a non-zero
// exit. SIGINT/SIGTERM shut down gracefully and close the database.
//
// sotto-server audit --data-dir DIR [--since T] [--user U] [--verify]
//
// prints the audit trail, one entry a line (audit_log.h FormatAuditEntry),
// oldest first; --since takes YYYY-MM-DD or RFC 3339, --user keeps entries
// whose actor or subject is that handle. --verify checks the whole hash chain
// instead and prints "audit trail intact: N entries, head HASH" (exit 0) or
// "audit trail broken: audit entry N: ..." (exit 1). It reads through the
// running server's operator socket, or with no server the database opened
// read-only.
//
// sotto-server deactivate|reactivate --data-dir DIR --name HANDLE
//
// turns an account off (it cannot authenticate; Sends to it fail) or on
// again, through the running server's operator socket or, with none, the
// database directly. Prints "HANDLE deactivated" / "HANDLE reactivated".
//
// sotto-server stats --data-dir DIR
//
// prints the running server's counters (Operator.Stats), one "name value"
// line each; exit 1 if no server runs on DIR.
//
// enrol-therapist prints
//   Enrolment code for HANDLE: CODE
//   Expires YYYY-MM-DD HH:MM UTC. The therapist registers with: sotto init --role therapist --name HANDLE --enrol CODE --server HOST:PORT
// or, with --quiet, only CODE on one line. It asks the server running on DIR
// over DATA_DIR/operator.sock; with no server running it opens the database
// itself. Errors: one line on stderr, exit 1 (2 for flag errors).

#include <arpa/inet.h>
#include <pthread.h>
#include <fstream>
#include <sstream>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <vector>
#include <filesystem>
#include <memory>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/domain/enrolment.h"
#include "server/domain/limits.h"
#include "server/domain/rate_limiter.h"
#include "server/rpc/server.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/v1/operator.grpc.pb.h"

#include <grpcpp/grpcpp.h>

namespace {

// True for 127.0.0.0/8, ::1 and "localhost". Plain TCP is allowed only there:
// anywhere else, device secrets and metadata would cross a network in clear.
bool IsLoopback(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

// The operator socket of a server on `data_dir`, and a stub for it; null
// when the socket does not exist (no server runs there). A stale socket of a
// server that is gone answers UNAVAILABLE.
std::string OperatorSocket(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / sotto::server::rpc::kOperatorSocketName).string();
}
std::unique_ptr<sotto::v1::Operator::Stub> OperatorStub(const std::string& data_dir) {
  const std::string socket = OperatorSocket(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(socket, ec)) return nullptr;
  return sotto::v1::Operator::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
}

// Issues an enrolment code through the running server's operator socket,
// or, if no server runs on `data_dir`, directly in its database.
absl::StatusOr<sotto::server::IssuedCode> IssueEnrolmentCode(const std::string& data_dir,
                                                             const std::string& handle,
                                                             uint32_t valid_hours) {
  std::error_code ec;
  if (auto stub = OperatorStub(data_dir)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    sotto::v1::EnrolTherapistRequest req;
    req.set_handle(handle);
    req.set_valid_hours(valid_hours);
    sotto::v1::EnrolTherapistResponse resp;
    grpc::Status s = stub->EnrolTherapist(&ctx, req, &resp);
    if (s.ok()) return sotto::server::IssuedCode{resp.code(), resp.expires_at_ms()};
    // UNAVAILABLE: a stale socket of a server that is gone; fall through to
    // the database. Any other error is the server's answer.
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
  }
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return absl::NotFoundError("no data directory " + data_dir);
  }
  auto store = sotto::server::OpenRocksDbStore(data_dir);
  if (!store.ok()) {
    if (store.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(
          "the database in " + data_dir + " is locked by a running server, and its operator socket " +
          OperatorSocket(data_dir) + " is missing or does not answer; restart that server (it recreates the "
          "socket) and try again");
    }
    return store.status();
  }
  // Through the audit chain, as in the server: the code's issue is audited.
  auto audit = sotto::server::AuditLog::Open(store->get(), sotto::server::SystemClock::Get());
  if (!audit.ok()) return audit.status();
  sotto::server::Accounts accounts(audit->get());
  sotto::server::Enrolment enrolment(audit->get(), &accounts,
                                     sotto::server::SystemClock::Get());
  return enrolment.IssueTherapistCode(handle, valid_hours);
}

// Deactivates or reactivates `handle` through the running server's operator
// socket or, with no server on `data_dir`, directly in its database.
absl::Status SetDeactivated(const std::string& data_dir, const std::string& handle,
                            bool deactivated) {
  std::error_code ec;
  if (auto stub = OperatorStub(data_dir)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    sotto::v1::AccountActionRequest req;
    req.set_handle(handle);
    sotto::v1::AccountActionResponse resp;
    grpc::Status s = deactivated ? stub->DeactivateAccount(&ctx, req, &resp)
                                 : stub->ReactivateAccount(&ctx, req, &resp);
    if (s.ok()) return absl::OkStatus();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
  }
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return absl::NotFoundError("no data directory " + data_dir);
  }
  auto store = sotto::server::OpenRocksDbStore(data_dir);
  if (!store.ok()) return store.status();
  auto audit = sotto::server::AuditLog::Open(store->get(), sotto::server::SystemClock::Get());
  if (!audit.ok()) return audit.status();
  sotto::server::Accounts accounts(audit->get());
  return accounts.SetDeactivated(handle, deactivated);
}

// The running server's counters, through its operator socket.
absl::StatusOr<sotto::v1::StatsResponse> ReadStats(const std::string& data_dir) {
  auto stub = OperatorStub(data_dir);
  if (stub == nullptr) {
    return absl::FailedPreconditionError("no server is running on " + data_dir + " (no " +
                                         OperatorSocket(data_dir) + ")");
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  sotto::v1::StatsResponse resp;
  grpc::Status s = stub->Stats(&ctx, sotto::v1::StatsRequest(), &resp);
  if (!s.ok()) {
    return absl::UnavailableError("the server on " + data_dir +
                                  " did not answer: " + s.error_message());
  }
  return resp;
}

// Calls `page(after_seq)` for the raw audit entries, through the running
// server's operator socket or, with none, the database opened read-only.
using AuditPage = std::vector<sotto::server::KeyValue>;
absl::Status ForEachAuditEntry(const std::string& data_dir,
                               const std::function<absl::Status(const sotto::server::KeyValue&)>& fn) {
  constexpr uint32_t kPage = 1000;
  std::error_code ec;
  if (auto stub = OperatorStub(data_dir)) {
    uint64_t after = 0;
    bool reached = true;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      sotto::v1::ReadAuditRequest req;
      req.set_after_seq(after);
      req.set_limit(kPage);
      sotto::v1::ReadAuditResponse resp;
      grpc::Status s = stub->ReadAudit(&ctx, req, &resp);
      if (!s.ok()) {
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE && after == 0) {
          reached = false;  // A stale socket: read the database instead.
          break;
        }
        return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
      }
      for (const auto& e : resp.entries()) {
        absl::Status st = fn(sotto::server::KeyValue{e.key(), e.value()});
        if (!st.ok()) return st;
        absl::StatusOr<sotto::server::AuditEntry> decoded =
            sotto::server::DecodeAuditEntry(e.key(), e.value());
        // A malformed key cannot be paged past; the verifier has said so.
        if (!decoded.ok()) return decoded.status();
        after = decoded->seq;
      }
      if (resp.entries_size() < static_cast<int>(kPage)) break;
    }
    if (reached) return absl::OkStatus();
  }
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return absl::NotFoundError("no data directory " + data_dir);
  }
  sotto::server::RocksDbStoreOptions ro;
  ro.read_only = true;
  auto store = sotto::server::OpenRocksDbStore(data_dir, ro);
  if (!store.ok()) return store.status();
  std::string after;
  while (true) {
    auto rows = (*store)->Scan(sotto::server::Table::kAudit, "", after, kPage);
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows) {
      absl::Status st = fn(row);
      if (!st.ok()) return st;
    }
    if (rows->size() < kPage) break;
    after = rows->back().key;
  }
  return absl::OkStatus();
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

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every mutex acquisition against a global
  // lock-order graph (GraphCycles, behind one global lock): measurable
  // overhead under load and no use in production. SottoServer::Start does
  // the same for in-process servers; here it also covers the subcommands.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"Sotto store-and-forward server"};
  std::string data_dir = "./var";
  std::string listen = "127.0.0.1:7443";
  std::string emergency_note = sotto::server::kDefaultEmergencyNote;
  app.add_option("--data-dir", data_dir, "RocksDB data directory (created if missing)")
      ->capture_default_str();
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--emergency-note", emergency_note,
                 "shown to clients with every reply expectation");

  std::string tls_cert;
  std::string tls_key;
  app.add_option("--tls-cert", tls_cert,
                 "PEM certificate chain to serve TLS with (needs --tls-key)");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  uint32_t retention_days = sotto::server::kDefaultRetentionMs / (24 * 3600 * 1000);
  app.add_option("--retention-days", retention_days,
                 "delete undelivered envelopes after this many days (0: keep)")
      ->capture_default_str();
  uint64_t max_queue_mib = sotto::server::kMaxQueueBytes >> 20;
  app.add_option("--max-queue-mib", max_queue_mib,
                 "undelivered bytes per device queue, in MiB")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  size_t io_threads = sotto::server::rpc::ServerOptions().io_threads;
  app.add_option("--io-threads", io_threads,
                 "threads for handlers' store work; concurrent synced writes share a WAL sync")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  const sotto::server::rpc::ServerOptions defaults;
  size_t max_streams = defaults.max_streams_per_device;
  app.add_option("--max-streams-per-device", max_streams,
                 "Subscribe streams one device may hold; one more ends its oldest")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  uint32_t keepalive_s = static_cast<uint32_t>(absl::ToInt64Seconds(defaults.keepalive_time));
  uint32_t keepalive_timeout_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(defaults.keepalive_timeout));
  app.add_option("--keepalive-seconds", keepalive_s,
                 "ping a connection with a call open after this long quiet; 0: never "
                 "(a vanished client's quiet stream stays until a write to it fails)")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{0}, uint32_t{24 * 3600}));
  app.add_option("--keepalive-timeout-seconds", keepalive_timeout_s,
                 "close a connection whose ping goes unanswered this long")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{3600}));
  uint32_t idle_connection_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(defaults.idle_connection_timeout));
  app.add_option("--idle-connection-seconds", idle_connection_s,
                 "close a connection with no call open for this long; 0: never")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{0}, uint32_t{7 * 24 * 3600}));
  sotto::server::RateLimitOptions limits;
  struct RateFlag {
    const char* name;
    sotto::server::BucketConfig* config;
    const char* help;
  };
  const RateFlag rate_flags[] = {
      {"--rate-registration", &limits.registration, "Register calls per source address"},
      {"--rate-failed-auth", &limits.failed_auth, "failed authentications per source address"},
      {"--rate-bundle-requester", &limits.bundle_per_requester,
       "GetBundle calls per requesting device"},
      {"--rate-bundle-target", &limits.bundle_per_target,
       "one-time prekeys handed out per target user (then bundles come without)"},
      {"--rate-sends", &limits.sends_per_device, "Send calls per device"},
  };
  std::vector<std::string> rate_values(std::size(rate_flags));
  for (size_t i = 0; i < std::size(rate_flags); ++i) {
    const auto& f = rate_flags[i];
    rate_values[i] = absl::StrCat(f.config->burst, "/", f.config->per_hour);
    app.add_option(f.name, rate_values[i],
                   std::string(f.help) + ": BURST/PER_HOUR token bucket (0/0: no limit)")
        ->capture_default_str();
  }

  CLI::App* enrol = app.add_subcommand(
      "enrol-therapist", "print a one-time enrolment code for a therapist's handle");
  std::string enrol_dir;
  std::string enrol_name;
  uint32_t valid_hours = 0;
  bool quiet = false;
  enrol->add_option("--data-dir", enrol_dir, "the server's data directory")->required();
  enrol->add_option("--name", enrol_name, "the handle the therapist will register")
      ->required();
  enrol->add_option("--valid-hours", valid_hours, "validity (default 168, at most 720)");
  enrol->add_flag("--quiet", quiet, "print only the code");
  CLI::App* audit_cmd =
      app.add_subcommand("audit", "print or verify the audit trail (works while the server runs)");
  std::string audit_dir;
  std::string audit_since;
  std::string audit_user;
  bool audit_verify = false;
  audit_cmd->add_option("--data-dir", audit_dir, "the server's data directory")->required();
  audit_cmd->add_option("--since", audit_since, "only entries at or after YYYY-MM-DD or RFC 3339");
  audit_cmd->add_option("--user", audit_user, "only entries whose actor or subject is HANDLE");
  audit_cmd->add_flag("--verify", audit_verify,
                      "check the hash chain; name the first broken entry (exit 1)");
  std::string account_dir;
  std::string account_name;
  CLI::App* deactivate_cmd = app.add_subcommand(
      "deactivate", "stop an account from signing in and receiving (keeps its data)");
  CLI::App* reactivate_cmd = app.add_subcommand("reactivate", "undo deactivate");
  for (CLI::App* cmd : {deactivate_cmd, reactivate_cmd}) {
    cmd->add_option("--data-dir", account_dir, "the server's data directory")->required();
    cmd->add_option("--name", account_name, "the account's handle")->required();
  }
  CLI::App* stats_cmd =
      app.add_subcommand("stats", "print the running server's counters (sends, deliveries, syncs)");
  std::string stats_dir;
  stats_cmd->add_option("--data-dir", stats_dir, "the server's data directory")->required();
  app.set_version_flag("--version", std::string("sotto-server ") + SOTTO_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: print as CLI11 does.
    if (e.get_exit_code() == 0) return app.exit(e);
    // CLI11's own exit codes (104-109) and two-line message would break the
    // documented contract: flag errors are one line on stderr and exit 2.
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << "sotto-server: " << what << " (see --help)\n";
    return 2;
  }

  if (stats_cmd->parsed()) {
    absl::StatusOr<sotto::v1::StatsResponse> stats = ReadStats(stats_dir);
    if (!stats.ok()) {
      std::cerr << "sotto-server stats: " << stats.status().message() << "\n";
      return 1;
    }
    uint64_t failed = 0;
    std::string by_code;
    for (int code = 0; code < stats->sends_failed_by_code_size(); ++code) {
      const uint64_t n = stats->sends_failed_by_code(code);
      if (n == 0) continue;
      failed += n;
      absl::StrAppend(&by_code, by_code.empty() ? " (" : ", ",
                      absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), " ", n);
    }
    if (!by_code.empty()) by_code += ")";
    std::cout << "uptime_s " << stats->uptime_ms() / 1000 << "\n"
              << "sends_ok " << stats->sends_ok() << "\n"
              << "sends_duplicate " << stats->sends_duplicate() << "\n"
              << "sends_failed " << failed << by_code << "\n"
              << "envelopes_accepted " << stats->envelopes_accepted() << "\n"
              << "envelopes_fetched " << stats->envelopes_fetched() << "\n"
              << "envelopes_streamed " << stats->envelopes_streamed() << "\n"
              << "envelopes_acked " << stats->envelopes_acked() << "\n"
              << "subscriptions_open " << stats->subscriptions_open() << "\n"
              << "subscriptions_replaced " << stats->subscriptions_replaced() << "\n"
              << "log_syncs " << stats->log_syncs() << "\n"
              << "synced_calls " << stats->synced_calls() << "\n"
              << "log_sync_mean_us "
              << (stats->log_syncs() > 0 ? stats->log_sync_micros() / stats->log_syncs() : 0)
              << "\n"
              << "log_sync_max_us " << stats->log_sync_max_micros() << "\n"
              << "log_syncs_over_10ms " << stats->log_syncs_over_10ms() << "\n"
              << "log_syncs_over_100ms " << stats->log_syncs_over_100ms() << "\n"
              << "pool_threads " << stats->pool_threads() << std::endl;
    return 0;
  }

  if (deactivate_cmd->parsed() || reactivate_cmd->parsed()) {
    const bool off = deactivate_cmd->parsed();
    absl::Status s = SetDeactivated(account_dir, account_name, off);
    if (!s.ok()) {
      std::cerr << "sotto-server " << (off ? "deactivate" : "reactivate") << ": " << s.message()
                << "\n";
      return 1;
    }
    std::cout << account_name << (off ? " deactivated" : " reactivated") << std::endl;
    return 0;
  }

  if (audit_cmd->parsed()) {
    int64_t since_ms = std::numeric_limits<int64_t>::min();
    if (!audit_since.empty()) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, audit_since, &t, &err) &&
          !absl::ParseTime("%Y-%m-%d", audit_since, absl::UTCTimeZone(), &t, &err)) {
        std::cerr << "sotto-server audit: --since must be YYYY-MM-DD or RFC 3339, got \""
                  << audit_since << "\"\n";
        return 2;
      }
      since_ms = absl::ToUnixMillis(t);
    }
    sotto::server::AuditChainVerifier verifier;
    absl::Status s = ForEachAuditEntry(audit_dir, [&](const sotto::server::KeyValue& row) {
      if (audit_verify) return verifier.Add(row.key, row.value);
      absl::StatusOr<sotto::server::AuditEntry> e =
          sotto::server::DecodeAuditEntry(row.key, row.value);
      if (!e.ok()) return e.status();
      if (e->time_ms < since_ms) return absl::OkStatus();
      if (!audit_user.empty()) {
        std::string actor_handle = e->event.actor.substr(0, e->event.actor.rfind('.'));
        if (actor_handle != audit_user && e->event.subject != audit_user) {
          return absl::OkStatus();
        }
      }
      std::cout << sotto::server::FormatAuditEntry(*e) << "\n";
      return absl::OkStatus();
    });
    if (audit_verify) {
      if (!s.ok() && s.code() == absl::StatusCode::kDataLoss) {
        std::cout << "audit trail broken: " << s.message() << std::endl;
        return 1;
      }
      if (s.ok()) {
        std::cout << "audit trail intact: " << verifier.entries() << " entries, head "
                  << verifier.HeadHex() << std::endl;
        return 0;
      }
    }
    if (!s.ok()) {
      std::cerr << "sotto-server audit: " << s.message() << "\n";
      return 1;
    }
    std::cout.flush();
    return 0;
  }

  if (enrol->parsed()) {
    auto code = IssueEnrolmentCode(enrol_dir, enrol_name, valid_hours);
    if (!code.ok()) {
      std::cerr << "sotto-server enrol-therapist: " << code.status().message() << "\n";
      return 1;
    }
    if (quiet) {
      std::cout << code->code << std::endl;
      return 0;
    }
    std::cout << "Enrolment code for " << enrol_name << ": " << code->code << "\n"
              << "Expires "
              << absl::FormatTime("%Y-%m-%d %H:%M UTC",
                                  absl::FromUnixMillis(code->expires_at_ms),
                                  absl::UTCTimeZone())
              << ". The therapist registers with: sotto init --role therapist --name "
              << enrol_name << " --enrol " << code->code << " --server HOST:PORT"
              << std::endl;
    return 0;
  }

  size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) ||
      port > 65535) {
    std::cerr << "sotto-server: --listen must be HOST:PORT, got \"" << listen << "\"\n";
    return 2;
  }
  std::string host = listen.substr(0, colon);
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "sotto-server: " << (tls_cert.empty() ? "--tls-key" : "--tls-cert")
              << " needs " << (tls_cert.empty() ? "--tls-cert" : "--tls-key")
              << " too: TLS takes a certificate and its private key\n";
    return 2;
  }
  const bool tls = !tls_cert.empty();
  if (!tls && !IsLoopback(host)) {
    std::cerr << "sotto-server: TLS is required to listen off loopback (" << host
              << "); pass --tls-cert and --tls-key, or listen on 127.0.0.0/8, ::1 or "
                 "localhost\n";
    return 2;
  }

  // Block the shutdown signals in every thread (gRPC's included); the main
  // thread takes them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sotto::server::rpc::ServerOptions options;
  options.data_dir = data_dir;
  options.listen_address = listen;
  options.emergency_note = emergency_note;
  options.mailbox.retention_ms = int64_t{retention_days} * 24 * 3600 * 1000;
  // See MailboxOptions::seq_floor: no seq a device may have seen before a
  // crash is ever given to another envelope.
  options.mailbox.seq_floor = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())) << 20;
  options.mailbox.max_queue_bytes = max_queue_mib << 20;
  options.io_threads = io_threads;
  options.io_queue = 64 * io_threads;
  options.max_streams_per_device = max_streams;
  options.keepalive_time = absl::Seconds(keepalive_s);
  options.keepalive_timeout = absl::Seconds(keepalive_timeout_s);
  options.idle_connection_timeout = absl::Seconds(idle_connection_s);
  for (size_t i = 0; i < std::size(rate_flags); ++i) {
    std::vector<absl::string_view> parts = absl::StrSplit(rate_values[i], '/');
    double burst = 0;
    double per_hour = 0;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &burst) ||
        !absl::SimpleAtod(parts[1], &per_hour) || burst < 0 || per_hour < 0 ||
        (per_hour > 0 && burst < 1)) {
      std::cerr << "sotto-server: " << rate_flags[i].name
                << " must be BURST/PER_HOUR with BURST >= 1 (or 0/0 for no limit), got \""
                << rate_values[i] << "\"\n";
      return 2;
    }
    *rate_flags[i].config = sotto::server::BucketConfig{burst, per_hour};
  }
  options.rate_limits = limits;
  if (tls) {
    auto cert = ReadPemFile("--tls-cert", tls_cert);
    auto key = ReadPemFile("--tls-key", tls_key);
    for (const auto* r : {&cert, &key}) {
      if (!r->ok()) {
        std::cerr << "sotto-server: " << r->status().message() << "\n";
        return 2;
      }
    }
    options.tls_cert_pem = *std::move(cert);
    options.tls_key_pem = *std::move(key);
  }
  auto server = sotto::server::rpc::SottoServer::Start(options);
  if (!server.ok()) {
    std::cerr << "sotto-server: " << server.status().message() << "\n";
    return 1;
  }
  if (tls) {
    std::cerr << "sotto-server: note: serving TLS with " << tls_cert << "\n";
  } else {
    std::cerr << "sotto-server: note: listening without TLS (loopback only)\n";
  }
  std::cout << "sotto-server listening on " << (*server)->address() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  (*server)->Shutdown(absl::Seconds(3));
  server->reset();  // Waits for handlers, then closes RocksDB.
  return 0;
}
