#include "server/app/metrics_endpoint.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sotto::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  SteadyClock::time_point deadline;
  std::string in;      // the request so far
  std::string out;     // the answer, once known
  size_t written = 0;  // of `out`
  bool answering = false;
};

std::string Answer(absl::string_view status, absl::string_view body,
                   absl::string_view extra_headers = "",
                   absl::string_view type = "text/plain; charset=utf-8") {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

// The answer to a complete request head (request line and headers, without
// the blank line). Only the request line matters: no header changes what a
// scrape gets.
std::string Respond(absl::string_view head, const std::function<std::string()>& render) {
  const absl::string_view line = head.substr(0, head.find_first_of("\r\n"));
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[1][0] != '/') {
    return Answer("400 Bad Request", "malformed request line\n");
  }
  if (!absl::StartsWith(parts[2], "HTTP/")) {
    return Answer("400 Bad Request", "malformed request line\n");
  }
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    return Answer("505 HTTP Version Not Supported", "only HTTP/1.0 and HTTP/1.1\n");
  }
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") return Answer("404 Not Found", "only /metrics is served here\n");
  if (parts[0] != "GET") {
    return Answer("405 Method Not Allowed", "only GET\n", "Allow: GET\r\n");
  }
  return Answer("200 OK", render(), "", "text/plain; version=0.0.4; charset=utf-8");
}

// Reads what the client sent; on a complete head (or too much, or a head
// that cannot be HTTP) sets `c.out`. False when the connection is done
// (closed by the client, or an error).
bool ReadRequest(Connection& c, const MetricsEndpointOptions& options) {
  char buf[2048];
  const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  c.in.append(buf, static_cast<size_t>(n));
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) end = c.in.find("\n\n");
  if (end == std::string::npos && c.in.size() >= options.max_request_bytes) {
    c.out = Answer("431 Request Header Fields Too Large", "request too large\n");
  } else if (end != std::string::npos && end > options.max_request_bytes) {
    c.out = Answer("431 Request Header Fields Too Large", "request too large\n");
  } else if (end != std::string::npos) {
    c.out = Respond(absl::string_view(c.in).substr(0, end), options.render);
  } else {
    return true;  // more to come
  }
  c.in.clear();
  c.answering = true;
  return true;
}

// Writes more of the answer. False when the connection is done.
bool WriteAnswer(Connection& c) {
  const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  c.written += static_cast<size_t>(n);
  return c.written < c.out.size();
}

absl::StatusOr<int> Bind(const std::string& listen, int* port) {
  constexpr int kBacklog = 64;
  const size_t colon = listen.rfind(':');
  int wanted = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &wanted) || wanted < 0 ||
      wanted > 65535) {
    return absl::InvalidArgumentError("metrics address must be HOST:PORT, got \"" + listen + "\"");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(wanted);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address ", listen, ": ", gai_strerror(rc)));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  // SO_REUSEADDR (restart while old connections sit in TIME_WAIT), never
  // SO_REUSEPORT: a second server must not share the port.
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, kBacklog) != 0) {
    const int err = errno;
    freeaddrinfo(found);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on ", listen, ": ", std::strerror(err)));
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  *port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    MetricsEndpointOptions options) {
  int port = 0;
  absl::StatusOr<int> fd = Bind(options.listen, &port);
  if (!fd.ok()) return fd.status();
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(*fd);
    return absl::InternalError(absl::StrCat("metrics endpoint: pipe: ", std::strerror(errno)));
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(options), *fd, port, wake[0], wake[1]));
}

MetricsEndpoint::MetricsEndpoint(MetricsEndpointOptions options, int listen_fd, int port,
                                 int wake_read, int wake_write)
    : options_(std::move(options)),
      listen_fd_(listen_fd),
      port_(port),
      wake_read_(wake_read),
      wake_write_(wake_write) {
  thread_ = std::thread([this] { Run(); });
}

MetricsEndpoint::~MetricsEndpoint() {
  Stop();
  close(wake_read_);
  close(wake_write_);
}

void MetricsEndpoint::Stop() {
  if (!thread_.joinable()) return;
  const char byte = 0;
  (void)!write(wake_write_, &byte, 1);
  thread_.join();
  // Closed here, not in the destructor: after Stop the port is free.
  close(listen_fd_);
}

void MetricsEndpoint::Run() {
  const auto timeout = std::chrono::microseconds(absl::ToInt64Microseconds(options_.timeout));
  std::vector<Connection> conns;
  // After accept fails for want of descriptors or memory, the listener
  // stays readable; pausing keeps the thread from spinning on it while
  // still serving the connections it has.
  SteadyClock::time_point accept_paused_until{};
  std::vector<pollfd> fds;
  for (;;) {
    const auto now = SteadyClock::now();
    fds.clear();
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({listen_fd_, static_cast<short>(now >= accept_paused_until ? POLLIN : 0), 0});
    auto wake_at = now + std::chrono::seconds(1);
    if (now < accept_paused_until) wake_at = std::min(wake_at, accept_paused_until);
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
      wake_at = std::min(wake_at, c.deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now);
    if (poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait.count(), 0)) + 1) <
            0 &&
        errno != EINTR) {
      continue;
    }
    if (fds[0].revents != 0) break;
    std::vector<Connection> kept;
    const auto after = SteadyClock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      bool open = after < c.deadline;
      if (open && fds[i + 2].revents != 0) {
        open = c.answering ? WriteAnswer(c) : ReadRequest(c, options_);
        // Answer at once rather than after another poll round.
        if (open && c.answering && c.written == 0) open = WriteAnswer(c);
      }
      if (open) {
        kept.push_back(std::move(c));
      } else {
        close(c.fd);
      }
    }
    conns.swap(kept);
    if ((fds[1].revents & POLLIN) == 0) continue;
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == ECONNABORTED || errno == EINTR) continue;
        // EMFILE, ENFILE, ENOBUFS, ENOMEM...: the pending connection stays
        // and the listener readable, so wait before trying again.
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          accept_paused_until = SteadyClock::now() + std::chrono::milliseconds(100);
        }
        break;
      }
      if (conns.size() >= options_.max_connections) {
        close(fd);
        continue;
      }
      Connection c;
      c.fd = fd;
      c.deadline = SteadyClock::now() + timeout;
      conns.push_back(std::move(c));
    }
  }
  for (const Connection& c : conns) close(c.fd);
}

}  // namespace sotto::server
