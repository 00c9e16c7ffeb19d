// sotto-server [--data-dir DIR] [--listen HOST:PORT] [--emergency-note TEXT]
// sotto-server enrol-therapist --data-dir DIR --name HANDLE [--valid-hours N] [--quiet]
//
// Stdout contract (tests parse it): once serving, exactly one line
//   sotto-server listening on HOST:PORT
// with the bound port. Startup errors are one line on stderr and a non-zero
// exit. SIGINT/SIGTERM shut down gracefully and close the database.
//
// enrol-therapist prints
//   Enrolment code for HANDLE: CODE
//   Expires YYYY-MM-DD HH:MM UTC. The therapist registers with: sotto init --role therapist --name HANDLE --enrol CODE --server HOST:PORT
// or, with --quiet, only CODE on one line. It asks the server running on DIR
// over DATA_DIR/operator.sock; with no server running it opens the database
// itself. Errors: one line on stderr, exit 1 (2 for flag errors).

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/accounts.h"
#include "server/domain/clock.h"
#include "server/domain/enrolment.h"
#include "server/rpc/server.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/v1/operator.grpc.pb.h"

#include <grpcpp/grpcpp.h>

namespace {

// True for 127.0.0.0/8, ::1 and "localhost". Plain TCP is allowed only there
// until TLS lands.
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

// Issues an enrolment code through the running server's operator socket,
// or, if no server runs on `data_dir`, directly in its database.
absl::StatusOr<sotto::server::IssuedCode> IssueEnrolmentCode(const std::string& data_dir,
                                                             const std::string& handle,
                                                             uint32_t valid_hours) {
  std::string socket =
      (std::filesystem::path(data_dir) / sotto::server::rpc::kOperatorSocketName).string();
  std::error_code ec;
  if (std::filesystem::exists(socket, ec)) {
    auto channel =
        grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
    auto stub = sotto::v1::Operator::NewStub(channel);
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
          socket + " is missing or does not answer; restart that server (it recreates the "
          "socket) and try again");
    }
    return store.status();
  }
  sotto::server::Accounts accounts(store->get());
  sotto::server::Enrolment enrolment(store->get(), &accounts,
                                     sotto::server::SystemClock::Get());
  return enrolment.IssueTherapistCode(handle, valid_hours);
}

}  // namespace

int main(int argc, char** argv) {
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
  CLI11_PARSE(app, argc, argv);

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
  if (!IsLoopback(host)) {
    std::cerr << "sotto-server: TLS is required to listen off loopback (" << host
              << "); only 127.0.0.0/8, ::1 and localhost are allowed for now\n";
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
  auto server = sotto::server::rpc::SottoServer::Start(options);
  if (!server.ok()) {
    std::cerr << "sotto-server: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "sotto-server: note: listening without TLS (loopback only)\n";
  std::cout << "sotto-server listening on " << (*server)->address() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  (*server)->Shutdown(absl::Seconds(3));
  server->reset();  // Waits for handlers, then closes RocksDB.
  return 0;
}
