// sotto-server --data-dir DIR --listen HOST:PORT
//
// Stdout contract (tests parse it): once serving, exactly one line
//   sotto-server listening on HOST:PORT
// with the bound port. Startup errors are one line on stderr and a non-zero
// exit. SIGINT/SIGTERM shut down gracefully and close the database.

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "server/rpc/server.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sotto store-and-forward server"};
  std::string data_dir = "./var";
  std::string listen = "127.0.0.1:7443";
  app.add_option("--data-dir", data_dir, "RocksDB data directory (created if missing)")
      ->capture_default_str();
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

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
