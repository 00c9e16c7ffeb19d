#include "server/rpc/connection_acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/server_builder.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sotto/log.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {
namespace {

// Connections accepted per listener before the loop looks at the others
// and at the clock again.
constexpr int kAcceptBatch = 256;
constexpr int64_t kSweepIntervalNs = 1'000'000'000;
// Before refusing for a limit the loop sweeps first (the limit may be
// reached only by connections already closed), at most this often: a
// flood of refusals must not turn into a flood of sweeps.
constexpr int64_t kRefusalSweepIntervalNs = 100'000'000;
constexpr int64_t kWarningIntervalNs = 10'000'000'000;

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

// "1.2.3.4" or "::1" of a peer; IPv4-mapped IPv6 addresses as IPv4, so a
// dual-stack listener counts one client once.
std::string AddressOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &a6, text, sizeof text);
    }
  }
  return text;
}

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address must be HOST:PORT, got \"", address, "\""));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return HostPort{host, std::to_string(port)};
}

// One listening socket on `ai`, its port set to `port` unless 0; the bound
// port in *bound. errno is left set on failure.
int BindOne(const addrinfo& ai, int port, bool dual_stack, int* bound) {
  int fd = socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // SO_REUSEADDR only: a restart may bind over connections in TIME_WAIT.
  // Never SO_REUSEPORT (see the header).
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage addr{};
  memcpy(&addr, ai.ai_addr, ai.ai_addrlen);
  if (ai.ai_family == AF_INET6) {
    int v6only = dual_stack ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (port != 0) reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(port);
  } else if (port != 0) {
    reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(port);
  }
  socklen_t len = ai.ai_addrlen;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  *bound = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(addr).sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectionAcceptor>> ConnectionAcceptor::Listen(
    const Options& options) {
  absl::StatusOr<HostPort> hp = SplitHostPort(options.listen_address);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(hp->host.c_str(), hp->port.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", options.listen_address, ": ", gai_strerror(rc)));
  }
  const bool dual_stack = hp->host == "::";
  std::vector<int> listeners;
  int port = 0;
  std::string failure;
  bool in_use = false;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    int bound = 0;
    int fd = BindOne(*ai, port, dual_stack, &bound);
    if (fd < 0) {
      // An address in use is always an error; another family missing
      // (no IPv6 on this host for "localhost") only if nothing binds.
      in_use = errno == EADDRINUSE;
      if (in_use || failure.empty()) failure = strerror(errno);
      if (in_use) break;
      continue;
    }
    listeners.push_back(fd);
    port = bound;
  }
  freeaddrinfo(found);
  if (listeners.empty() || in_use) {
    for (int fd : listeners) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address, ": ", failure));
  }
  return std::unique_ptr<ConnectionAcceptor>(
      new ConnectionAcceptor(options, std::move(listeners), port));
}

ConnectionAcceptor::ConnectionAcceptor(Options options, std::vector<int> listeners, int port)
    : options_(std::move(options)), listeners_(std::move(listeners)), port_(port) {
  // Kept open to be closed when descriptors run out (ShedOne).
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
}

ConnectionAcceptor::~ConnectionAcceptor() {
  Stop();
  for (int fd : listeners_) close(fd);
  for (int fd : {reserve_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void ConnectionAcceptor::Start(
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> sink) {
  sink_ = std::move(sink);
  thread_ = std::thread([this] { Run(); });
}

void ConnectionAcceptor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!thread_.joinable()) return;
  const char byte = 0;
  if (write(wake_[1], &byte, 1) < 0) {
    // The pipe is never full (one byte, once); nothing else to do.
  }
  thread_.join();
}

ConnectionAcceptor::Counters ConnectionAcceptor::counters() const {
  Counters c;
  c.accepted = accepted_.load(std::memory_order_relaxed);
  c.refused_per_address = refused_per_address_.load(std::memory_order_relaxed);
  c.refused_total = refused_total_.load(std::memory_order_relaxed);
  c.refused_out_of_descriptors = refused_descriptors_.load(std::memory_order_relaxed);
  return c;
}

void ConnectionAcceptor::Run() {
  std::vector<pollfd> polled;
  for (int fd : listeners_) polled.push_back({fd, POLLIN, 0});
  polled.push_back({wake_[0], POLLIN, 0});
  bool starved = false;
  while (true) {
    // Out of descriptors, wait a little: the listener stays readable while
    // connections wait, and retrying at once would spin.
    const int ready = poll(polled.data(), polled.size(), starved ? 50 : 1000);
    if (polled.back().revents != 0) return;
    if (NowNs() - last_sweep_ns_ >= kSweepIntervalNs) Sweep();
    starved = false;
    if (ready <= 0) continue;
    for (size_t i = 0; i + 1 < polled.size(); ++i) {
      if (polled[i].revents != 0 && !AcceptAll(polled[i].fd)) starved = true;
    }
  }
}

bool ConnectionAcceptor::AcceptAll(int listener) {
  for (int n = 0; n < kAcceptBatch; ++n) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd =
        accept4(listener, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (errno) {
        case EAGAIN:
          return true;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          ShedOne(listener);
          return false;
        default:  // ECONNABORTED, EINTR, EPROTO, ...: that connection only.
          continue;
      }
    }
    std::string address = AddressOf(addr);
    if (!Admit(address)) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Track(fd, std::move(address));
    accepted_.fetch_add(1, std::memory_order_relaxed);
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listener;
    p.fd = fd;
    sink_->HandleNewConnection(&p);
  }
  return true;
}

void ConnectionAcceptor::ShedOne(int listener) {
  refused_descriptors_.fetch_add(1, std::memory_order_relaxed);
  metrics::CountRefusal("open_files");
  if (reserve_fd_ >= 0) {
    close(reserve_fd_);
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) close(fd);
    reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  Sweep();
  const int64_t now = NowNs();
  if (now - last_warning_ns_ >= kWarningIntervalNs) {
    last_warning_ns_ = now;
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    log::Error(absl::StrCat("out of file descriptors (limit ", limit.rlim_cur, ", ",
                            open_connections(),
                            " connections open): closing new connections until some close; "
                            "raise LimitNOFILE or lower --max-connections"));
  }
}

bool ConnectionAcceptor::Admit(const std::string& address) {
  const size_t max_total = options_.max_connections;
  const size_t max_here = options_.max_connections_per_address;
  auto over = [&] {
    if (max_total != 0 && open_.load(std::memory_order_relaxed) >= max_total) return 1;
    auto it = per_address_.find(address);
    if (max_here != 0 && it != per_address_.end() && it->second >= max_here) return 2;
    return 0;
  };
  int why = over();
  if (why != 0 && NowNs() - last_sweep_ns_ >= kRefusalSweepIntervalNs) {
    Sweep();
    why = over();
  }
  if (why == 1) {
    refused_total_.fetch_add(1, std::memory_order_relaxed);
    metrics::CountRefusal("connections");
  }
  if (why == 2) {
    refused_per_address_.fetch_add(1, std::memory_order_relaxed);
    metrics::CountRefusal("connections_per_address");
  }
  return why == 0;
}

void ConnectionAcceptor::Track(int fd, std::string address) {
  // The same number still remembered: gRPC closed that connection before
  // the sweep saw it.
  if (auto it = tracked_.find(fd); it != tracked_.end()) Forget(it);
  struct stat st {};
  fstat(fd, &st);
  ++per_address_[address];
  open_.fetch_add(1, std::memory_order_relaxed);
  tracked_[fd] = Tracked{std::move(address), static_cast<uint64_t>(st.st_ino)};
}

void ConnectionAcceptor::Forget(absl::flat_hash_map<int, Tracked>::iterator it) {
  auto count = per_address_.find(it->second.address);
  if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  open_.fetch_sub(1, std::memory_order_relaxed);
  tracked_.erase(it);
}

void ConnectionAcceptor::Sweep() {
  last_sweep_ns_ = NowNs();
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    struct stat st {};
    const bool same = fstat(it->first, &st) == 0 && S_ISSOCK(st.st_mode) &&
                      static_cast<uint64_t>(st.st_ino) == it->second.inode;
    auto next = std::next(it);
    if (!same) Forget(it);
    it = next;
  }
}

}  // namespace sotto::server::rpc
