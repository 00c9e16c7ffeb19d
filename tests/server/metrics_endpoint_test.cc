// The metrics endpoint against what a scraper, a confused client and a
// hostile one send: real sockets on loopback.

#include "server/app/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sotto::server {
namespace {

using std::chrono::milliseconds;

// A connected socket to 127.0.0.1:port, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends until it closes (or `wait` passes).
std::string ReadAll(int fd, milliseconds wait = milliseconds(3000)) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Sends `request` on a new connection and returns the whole answer.
std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  if (fd < 0) return "<connect failed>";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer = ReadAll(fd);
  close(fd);
  return answer;
}

std::string StatusLine(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MetricsEndpointOptions options;
    options.listen = "127.0.0.1:0";
    options.render = [this] {
      ++renders_;
      return std::string("sotto_up 1\n");
    };
    options.timeout = absl::Milliseconds(400);
    options.max_request_bytes = 1024;
    options.max_connections = 4;
    auto started = MetricsEndpoint::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    endpoint_ = *std::move(started);
  }

  std::atomic<int> renders_{0};
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

TEST_F(MetricsEndpointTest, GetMetricsAnswersTheRenderedText) {
  const std::string answer =
      Exchange(endpoint_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(StatusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(answer.find("Content-Length: 11\r\n"), std::string::npos);
  EXPECT_EQ(answer.substr(answer.size() - 11), "sotto_up 1\n");
  // A query string (as some scrapers add) is the same resource.
  EXPECT_EQ(StatusLine(Exchange(endpoint_->port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n")),
            "HTTP/1.1 200 OK");
}

TEST_F(MetricsEndpointTest, OtherPathsMethodsAndVersionsAreRefusedWithoutRendering) {
  const int port = endpoint_->port();
  EXPECT_EQ(StatusLine(Exchange(port, "GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(StatusLine(Exchange(port, "GET /metricsx HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  const std::string post = Exchange(port, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(StatusLine(post), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(post.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_EQ(StatusLine(Exchange(port, "GET /metrics HTTP/2.0\r\n\r\n")),
            "HTTP/1.1 505 HTTP Version Not Supported");
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsEndpointTest, MalformedRequestsGet400) {
  const int port = endpoint_->port();
  for (const std::string bad :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET\r\n\r\n"),
        std::string("GET /metrics\r\n\r\n"), std::string("GET metrics HTTP/1.1\r\n\r\n"),
        std::string("GET  /metrics HTTP/1.1\r\n\r\n"), std::string("GET /metrics FTP/1\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 16)}) {
    EXPECT_EQ(StatusLine(Exchange(port, bad)), "HTTP/1.1 400 Bad Request") << bad;
  }
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsEndpointTest, OversizedRequestGets431AndIsNotBuffered) {
  // Headers that never end: answered once the limit is reached, not read on.
  std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(64 * 1024, 'a');
  EXPECT_EQ(StatusLine(Exchange(endpoint_->port(), huge)),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsEndpointTest, SlowClientIsCutOffAtTheTimeout) {
  // Slowloris: one byte every 100 ms never completes a request within the
  // 400 ms the endpoint allows; it closes the connection.
  const int fd = Connect(endpoint_->port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char c : request) {
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buf[16];
      if (recv(fd, buf, sizeof buf, 0) <= 0) {
        closed = true;
        break;
      }
    }
  }
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsEndpointTest, IdleConnectionsCannotLockOutTheScraper) {
  // More idle connections than the endpoint serves at once: the extra ones
  // are closed at once, the others after the timeout; a scrape then works.
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(endpoint_->port()));
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(StatusLine(Exchange(endpoint_->port(), "GET /metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 200 OK");
  for (int fd : idle) {
    EXPECT_EQ(ReadAll(fd, milliseconds(100)), "") << "an idle connection got an answer";
    close(fd);
  }
}

TEST_F(MetricsEndpointTest, StopClosesTheListener) {
  const int port = endpoint_->port();
  endpoint_->Stop();
  EXPECT_EQ(Connect(port), -1);
}

TEST(MetricsEndpointStartTest, MalformedOrBusyAddressIsAnError) {
  MetricsEndpointOptions options;
  options.render = [] { return std::string(); };
  options.listen = "127.0.0.1";
  EXPECT_EQ(MetricsEndpoint::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  auto first = MetricsEndpoint::Start(options);
  ASSERT_TRUE(first.ok());
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsEndpoint::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

}  // namespace
}  // namespace sotto::server
