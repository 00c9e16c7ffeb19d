// Floods against the real sotto-server binary, run at a low open-files
// limit (prlimit): idle TCP connections from one address, running out of
// descriptors, and streams opened and cancelled on one connection, with a
// legitimate client's latency measured throughout over fresh connections.
// Also: an address in use is an error at start, and a request that does not
// parse is INVALID_ARGUMENT. Short form by default; SOTTO_RELIABILITY_LONG=1
// runs each flood longer and prints the figures docs/RELIABILITY.md reports.

#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/long_form.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"
#include "testing/test_certs.h"

namespace {

using ::sotto::testing::LongForm;

using ::sotto::testing::ServerProcess;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::chrono::seconds FloodTime() { return std::chrono::seconds(LongForm() ? 60 : 3); }

int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

// A shell script that runs sotto-server with RLIMIT_NOFILE at `nofile`
// (soft and hard: the server cannot raise it).
std::string LowLimitWrapper(int nofile) {
  const std::string path = ::testing::TempDir() + "/sotto-server-nofile-" + std::to_string(nofile);
  std::ofstream(path) << "#!/bin/sh\nexec prlimit --nofile=" << nofile << ":" << nofile << " "
                      << ServerProcess::kDefaultBinary << " \"$@\"\n";
  chmod(path.c_str(), 0755);
  return path;
}

// A TCP connection to 127.0.0.1:port from source address `from` (any of
// 127/8), or -1.
int ConnectFrom(const std::string& from, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A channel on a connection of its own (no subchannel shared with earlier
// channels), as a newly arriving client has.
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address) {
  static std::atomic<int> nonce{0};
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("sotto.test.nonce", nonce++);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

grpc::Status RawCall(grpc::Channel* channel, const std::string& method, const std::string& bytes,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// One health check over a new connection: what a client arriving during a
// flood does. Its latency, or nullopt if it failed.
std::optional<double> NewClientCallMs(const std::string& address) {
  auto start = Clock::now();
  auto channel = FreshChannel(address);
  grpc::Status s = RawCall(channel.get(), "/grpc.health.v1.Health/Check", "");
  if (!s.ok()) return std::nullopt;
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// New-client calls every 50 ms while `running`; latencies and failures.
struct Probe {
  std::vector<double> ms;
  int failures = 0;
  double Percentile(double p) {
    if (ms.empty()) return -1;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  }
};
Probe ProbeWhile(const std::string& address, const std::atomic<bool>& running) {
  Probe probe;
  while (running) {
    if (auto ms = NewClientCallMs(address)) {
      probe.ms.push_back(*ms);
    } else {
      ++probe.failures;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe;
}

long RssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Calls started and cancelled at once on one connection (HEADERS then
// RST_STREAM, the rapid-reset pattern), up to 512 in flight, for
// FloodTime(), while `new_client` measures a newly arriving client.
struct ResetFlood {
  long opened = 0;
  Probe probe;
  std::string Summary() {
    std::ostringstream out;
    out << opened << " streams opened and reset, " << probe.ms.size() << " new-client calls, "
        << probe.failures << " failed, p50 " << probe.Percentile(0.5) << " ms, p99 "
        << probe.Percentile(0.99) << " ms";
    return out.str();
  }
};
ResetFlood RunResetFlood(std::shared_ptr<grpc::Channel> channel,
                         const std::function<std::optional<double>()>& new_client) {
  ResetFlood result;
  std::atomic<bool> running{true};
  std::atomic<long> opened{0};
  std::thread flooder([&] {
    grpc::GenericStub stub(channel);
    std::atomic<int> in_flight{0};
    grpc::Slice empty("");
    while (running) {
      if (in_flight > 512) {
        std::this_thread::yield();
        continue;
      }
      // Shared by the callback and this thread: the callback may run
      // before TryCancel returns.
      struct Call {
        grpc::ClientContext ctx;
        grpc::ByteBuffer request;
        grpc::ByteBuffer response;
      };
      auto call = std::make_shared<Call>();
      call->request = grpc::ByteBuffer(&empty, 1);
      ++in_flight;
      stub.UnaryCall(&call->ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                     &call->request, &call->response, [call, &in_flight](grpc::Status) mutable {
                       call.reset();
                       --in_flight;
                     });
      call->ctx.TryCancel();
      ++opened;
    }
    while (in_flight > 0) std::this_thread::yield();
  });
  auto stop_at = Clock::now() + FloodTime();
  while (Clock::now() < stop_at) {
    if (auto ms = new_client()) {
      result.probe.ms.push_back(*ms);
    } else {
      ++result.probe.failures;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  running = false;
  flooder.join();
  result.opened = opened;
  return result;
}

TEST(FloodsTest, AnAddressInUseIsAnErrorAtStart) {
  auto first = ServerProcess::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  // A fresh directory: one left by an older run could hold what a newer
  // server tidies at start, with a line of its own on stderr.
  sotto::testing::TempDir data;
  const std::string dir = data.path() + "/second-server";
  // Bounded: a second server that does start would serve until killed.
  auto run =
      sotto::testing::RunServerCommand("--data-dir '" + dir + "' --listen " + (*first)->address(),
                                       std::string("timeout 10 ") + ServerProcess::kDefaultBinary);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_EQ(run.output, "sotto-server: error: cannot listen on " + (*first)->address() +
                            ": Address already in use\n");
  // The first server still serves every new client.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(NewClientCallMs((*first)->address()).has_value());
}

TEST(FloodsTest, AnOpenFilesLimitTooLowToRaiseIsRefusedAtStart) {
  // Hard limit 1024 (systemd's soft default): the server cannot raise it.
  sotto::testing::TempDir data;
  const std::string dir = data.path() + "/low-limit-server";
  auto run = sotto::testing::RunServerCommand("--data-dir '" + dir + "' --listen 127.0.0.1:0",
                                              "timeout 10 " + LowLimitWrapper(1024));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("the open-files limit is 1024 (its hard limit), below "
                                    "--min-open-files 4096"));
  EXPECT_THAT(run.output, HasSubstr("LimitNOFILE"));
}

TEST(FloodsTest, AMalformedRequestIsInvalidArgumentNamingTheExpectedMessage) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = FreshChannel((*server)->address());
  // Field 1 as a varint that never ends: no protobuf parser accepts it.
  grpc::Status s = RawCall(channel.get(), "/sotto.v1.Messages/Send", "\x08\xff\xff\xff");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("did not parse as sotto.v1.SendRequest"));
  // A method that does not exist is still UNIMPLEMENTED.
  s = RawCall(channel.get(), "/sotto.v1.Messages/NoSuchMethod", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(FloodsTest, IdleConnectionsFromOneAddressDoNotStopOthers) {
  auto server = ServerProcess::Start(
      LowLimitWrapper(512), {"--min-open-files", "0", "--max-connections-per-address", "64"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  const int port = PortOf(address);
  std::atomic<bool> running{true};
  std::atomic<int> held{0};
  // The flooder keeps opening idle connections from 127.0.0.2, holding
  // what the server leaves open and reopening what it closes.
  std::thread flooder([&] {
    std::vector<int> fds;
    while (running) {
      int fd = ConnectFrom("127.0.0.2", port);
      if (fd >= 0) fds.push_back(fd);
      if (fds.size() >= 2000) {
        for (int f : fds) close(f);
        fds.clear();
      }
      held = static_cast<int>(fds.size());
    }
    for (int f : fds) close(f);
  });
  auto stop_at = Clock::now() + FloodTime();
  std::thread timer([&] {
    std::this_thread::sleep_until(stop_at);
    running = false;
  });
  Probe probe = ProbeWhile(address, running);
  timer.join();
  flooder.join();
  std::cout << "[floods] idle connections from one address: " << probe.ms.size()
            << " new-client calls, " << probe.failures << " failed, p50 " << probe.Percentile(0.5)
            << " ms, p99 " << probe.Percentile(0.99) << " ms\n";
  // The bounds leave room for a shared 2-core machine (load 15+ while the
  // figures in docs/RELIABILITY.md were taken); what a flood did before was
  // failures, not milliseconds.
  // The short form's few seconds under ctest -j2 saw p50 at 334 ms once
  // (6 calls, the machine shared with a full build): it asserts that new
  // clients got in, the long form how fast.
  EXPECT_EQ(probe.failures, 0);
  EXPECT_GE(probe.ms.size(), LongForm() ? 11u : 3u);
  EXPECT_LT(probe.Percentile(0.5), LongForm() ? 250 : 1000);
  if (LongForm()) EXPECT_LT(probe.Percentile(0.99), 3000);
}

TEST(FloodsTest, OutOfDescriptorsAcceptingResumesOnceTheyAreFree) {
  // No connection limit: the flood runs the server out of descriptors.
  auto server =
      ServerProcess::Start(LowLimitWrapper(256), {"--min-open-files", "0", "--max-connections",
                                                  "1000000", "--max-connections-per-address", "0"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  std::vector<int> flood;
  for (int i = 0; i < 600; ++i) {
    int fd = ConnectFrom("127.0.0.3", PortOf(address));
    if (fd >= 0) flood.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int fd : flood) close(fd);
  // gRPC 1.51's own listener never accepted again after its first EMFILE.
  std::optional<double> ms;
  for (auto until = Clock::now() + std::chrono::seconds(10); !ms && Clock::now() < until;) {
    ms = NewClientCallMs(address);
  }
  ASSERT_TRUE(ms.has_value()) << "no new client got in after the flood closed";
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(NewClientCallMs(address).has_value());
}

TEST(FloodsTest, StreamsOpenedAndCancelledOnOneConnectionLeaveOthersServed) {
  auto server = ServerProcess::Start(LowLimitWrapper(512), {"--min-open-files", "0"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  const long rss_before = RssKb((*server)->pid());
  ResetFlood flood = RunResetFlood(FreshChannel(address), [&] { return NewClientCallMs(address); });
  const long rss_after = RssKb((*server)->pid());
  std::cout << "[floods] stream resets on one connection, direct: " << flood.Summary() << ", RSS "
            << rss_before / 1024 << " -> " << rss_after / 1024 << " MiB\n";
  // gRPC 1.51 bounds the streams open at once (--max-streams-per-connection)
  // but not the rate of resets: during the flood new clients are slow and
  // may time out (docs/RELIABILITY.md; the defence is haproxy, below). What
  // must hold: the flood leaves nothing behind, the next client is served
  // at once.
  std::optional<double> after;
  for (auto until = Clock::now() + std::chrono::seconds(5); !after && Clock::now() < until;) {
    after = NewClientCallMs(address);
  }
  ASSERT_TRUE(after.has_value()) << "no new client got in within 5 s of the flood's end";
  after = NewClientCallMs(address);
  ASSERT_TRUE(after.has_value());
  EXPECT_LT(*after, 1000);
  EXPECT_GT(flood.probe.ms.size(), 0u) << "no new client got in during the flood";
}

// HAProxy with deploy/haproxy/sotto.cfg in front of the real server, TLS
// with the test certificates, bound on [::] so that a flood from 127.0.0.1
// and a client from ::1 are two source addresses.
class HaproxyFront {
 public:
  static std::unique_ptr<HaproxyFront> Start(const std::string& backend,
                                             const sotto::testing::TestCerts& certs) {
    auto front = std::unique_ptr<HaproxyFront>(new HaproxyFront);
    const std::string pem = ::testing::TempDir() + "/haproxy-sotto.pem";
    std::ofstream(pem) << certs.server.cert_pem << certs.server.key_pem;
    front->port_ = FreePort();
    const std::string bind = "[::]:" + std::to_string(front->port_);
    front->pid_ = fork();
    if (front->pid_ == 0) {
      setenv("SOTTO_HAPROXY_BIND", bind.c_str(), 1);
      setenv("SOTTO_HAPROXY_CERT", pem.c_str(), 1);
      setenv("SOTTO_BACKEND", backend.c_str(), 1);
      execlp("haproxy", "haproxy", "-db", "-q", "-f", SOTTO_HAPROXY_CONFIG, nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      int fd = ConnectFrom("127.0.0.1", front->port_);
      if (fd >= 0) {
        close(fd);
        return front;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return nullptr;
  }
  ~HaproxyFront() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }

 private:
  static int FreePort() {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), len);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin6_port);
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& target,
                                          const sotto::testing::TestCerts& certs) {
  static std::atomic<int> nonce{0};
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = certs.ca.cert_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("sotto.test.nonce", nonce++);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args);
}

// Whether this machine has an IPv6 loopback (::1) to bind: the test below
// needs two source addresses haproxy tells apart, and a gRPC client cannot
// pick its IPv4 source.
bool HasIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

TEST(FloodsTest, BehindHaproxyStreamResetsFromOneAddressLeaveOthersServed) {
  if (!HasIpv6Loopback()) {
    GTEST_SKIP() << "no IPv6 loopback (::1) here: the legitimate client needs a source "
                    "address other than the flood's 127.0.0.1";
  }
  auto certs = sotto::testing::TestCerts::Make();
  ASSERT_TRUE(certs.ok()) << certs.status();
  auto server = ServerProcess::Start(
      LowLimitWrapper(512), {"--min-open-files", "0", "--max-connections-per-address", "0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto front = HaproxyFront::Start((*server)->address(), **certs);
  ASSERT_NE(front, nullptr) << "haproxy did not start";
  const std::string legit = "[::1]:" + std::to_string(front->port());
  auto new_client = [&]() -> std::optional<double> {
    auto start = Clock::now();
    grpc::Status s = RawCall(TlsChannel(legit, **certs).get(), "/grpc.health.v1.Health/Check", "");
    if (!s.ok()) return std::nullopt;
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  ASSERT_TRUE(new_client().has_value()) << "no call through haproxy";
  const long rss_before = RssKb((*server)->pid());
  ResetFlood flood =
      RunResetFlood(TlsChannel("127.0.0.1:" + std::to_string(front->port()), **certs), new_client);
  const long rss_after = RssKb((*server)->pid());
  std::cout << "[floods] stream resets on one connection, behind haproxy: " << flood.Summary()
            << ", sotto-server RSS " << rss_before / 1024 << " -> " << rss_after / 1024 << " MiB\n";
  // Direct, calls time out (5 s) during such a flood; behind haproxy none do.
  // (p99 of the short form's ~20 calls is their slowest, one TLS handshake
  // on a loaded machine: judged in the long form only.)
  EXPECT_EQ(flood.probe.failures, 0);
  EXPECT_LT(flood.probe.Percentile(0.5), 250);
  if (LongForm()) EXPECT_LT(flood.probe.Percentile(0.99), 3000);
}

}  // namespace
