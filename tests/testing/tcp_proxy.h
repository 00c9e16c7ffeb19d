#ifndef SOTTO_TESTS_TESTING_TCP_PROXY_H_
#define SOTTO_TESTS_TESTING_TCP_PROXY_H_

// A TCP relay on 127.0.0.1 for fault tests. It forwards bytes between every
// connection it accepts and 127.0.0.1:`upstream_port` until Blackhole(),
// after which it keeps every socket open but moves no byte either way: to
// both ends the peer has vanished without closing, as a phone does when it
// loses its network. The destructor closes everything.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sotto::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
      if (listen_fd_ >= 0) close(listen_fd_);
      throw std::runtime_error("TcpProxy: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }

  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  ~TcpProxy() {
    stop_ = true;
    char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
    for (const auto& [a, b] : pairs_) {
      close(a);
      close(b);
    }
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  // "127.0.0.1:PORT", for a gRPC channel.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // From now on nothing is relayed and nothing is closed.
  void Blackhole() { blackholed_ = true; }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  // One thread: accepts, and relays what each side sends to the other.
  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      const bool relaying = !blackholed_;
      if (relaying) {
        for (const auto& [a, b] : pairs_) {
          fds.push_back({a, POLLIN, 0});
          fds.push_back({b, POLLIN, 0});
        }
      }
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[1].revents & POLLIN) Accept();
      for (size_t i = 2; relaying && i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto& pair = pairs_[(i - 2) / 2];
        if (pair.first < 0) continue;  // closed earlier in this round
        const int from = fds[i].fd;
        const int to = from == pair.first ? pair.second : pair.first;
        if (!Forward(from, to)) {
          close(pair.first);
          close(pair.second);
          pair = {-1, -1};
        }
      }
      pairs_.erase(
          std::remove_if(pairs_.begin(), pairs_.end(), [](const auto& p) { return p.first < 0; }),
          pairs_.end());
    }
  }

  void Accept() {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(upstream_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(client);
      if (server >= 0) close(server);
      return;
    }
    // A peer that stops reading must not hang the relay (and with it the
    // destructor): a send that cannot finish within a second drops the pair.
    const timeval limit{1, 0};
    for (int fd : {client, server}) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    pairs_.emplace_back(client, server);
  }

  // Moves what `from` has to `to`; false once either side is closed.
  static bool Forward(int from, int to) {
    char buf[16384];
    const ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) return n < 0 && errno == EINTR;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t w = send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      sent += w;
    }
    return true;
  }

  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> blackholed_{false};
  std::vector<std::pair<int, int>> pairs_;  // (accepted, upstream); Run's thread only
  std::thread thread_;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_TCP_PROXY_H_
