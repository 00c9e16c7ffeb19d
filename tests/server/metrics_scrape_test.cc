// What an operator's Prometheus sees: the real sotto-server binary with
// --metrics-listen, real calls over gRPC, the endpoint scraped over HTTP and
// its text parsed as Prometheus would.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/register_request.h"
#include "testing/server_process.h"

namespace {

namespace v1 = ::sotto::v1;
using Samples = std::map<std::string, double>;

// Handles no metric name or help text could contain by chance.
constexpr char kTherapist[] = "zorvath";
constexpr char kClient[] = "quillon";
constexpr char kCiphertext[] = "ciphertext-marker-7f3a";

// A port free right now on 127.0.0.1 (the server binds it a moment later).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// GET /metrics: the body, or "" (and a test failure) on anything but 200.
std::string Scrape(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    ADD_FAILURE() << "cannot connect to the metrics port";
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (answer.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) {
    ADD_FAILURE() << "scrape failed: " << answer.substr(0, 200);
    return "";
  }
  return answer.substr(answer.find("\r\n\r\n") + 4);
}

// Every sample line by its name and labels ("name{l=\"v\"}"); a line that is
// not valid text format fails the test.
Samples Parse(const std::string& body) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (\S+)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  Samples samples;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(start, end - start);
    start = end + 1;
    std::smatch m;
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, kComment)) << line;
    } else if (std::regex_match(line, m, kSample)) {
      EXPECT_EQ(samples.count(m[1]), 0u) << "duplicate series " << m[1];
      samples[m[1]] = std::stod(m[5]);
    } else {
      ADD_FAILURE() << "not text format: " << line;
    }
  }
  return samples;
}

double Get(const Samples& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? -1 : it->second;
}

// The families a scrape declares ("# TYPE NAME ...").
std::set<std::string> Families(const std::string& body) {
  static const std::regex kType(R"(# TYPE (\S+) )");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kType);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

// Every sotto_* name a file of the repository mentions, with a histogram's
// _bucket/_sum/_count suffix taken off.
std::set<std::string> NamesIn(const std::string& relative_path) {
  std::ifstream in(std::string(SOTTO_SOURCE_DIR) + "/" + relative_path);
  EXPECT_TRUE(in) << relative_path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  static const std::regex kName(R"(sotto_[a-z_]+[a-z])");
  static const std::regex kSuffix(R"(_(bucket|sum|count)$)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kName); it != std::sregex_iterator();
       ++it) {
    const std::string name = (*it)[0];
    if (name.rfind("_seconds_") != std::string::npos) {
      names.insert(std::regex_replace(name, kSuffix, ""));
    } else {
      names.insert(name);
    }
  }
  return names;
}

std::string Rpc(const std::string& method, const std::string& code) {
  return absl::StrCat("sotto_rpc_requests_total{method=\"sotto.v1.", method, "\",code=\"", code,
                      "\"}");
}

struct Device {
  std::string handle;
  std::string secret = std::string(32, '\x5a');
  uint32_t registration_id = 0;
  std::string Header() const { return sotto::AuthorizationValue(handle, 1, secret); }
};

class MetricsScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_port_ = FreePort();
    auto started = sotto::testing::ServerProcess::Start(
        sotto::testing::ServerProcess::kDefaultBinary,
        {"--metrics-listen", absl::StrCat("127.0.0.1:", metrics_port_), "--rate-sends", "3/1"});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    accounts_ = v1::Accounts::NewStub(channel_);
    messages_ = v1::Messages::NewStub(channel_);
  }

  Device Register(const std::string& handle, uint32_t registration_id) {
    Device d{handle};
    d.registration_id = registration_id;
    std::string code;
    if (therapist_header_.empty()) {
      auto enrolment = sotto::testing::IssueEnrolmentCode(server_->data_dir(), handle);
      EXPECT_TRUE(enrolment.ok()) << enrolment.status();
      code = enrolment.value_or("");
    } else {
      code = sotto::testing::CreateInviteCode(channel_, therapist_header_);
    }
    const v1::RegisterRequest req = sotto::testing::MakeRegisterRequest(
        handle, therapist_header_.empty() ? v1::ROLE_THERAPIST : v1::ROLE_CLIENT, code, d.secret,
        registration_id);
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    grpc::Status s = accounts_->Register(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (therapist_header_.empty()) therapist_header_ = d.Header();
    return d;
  }

  grpc::Status Send(const Device& from, const Device& to, int i) {
    v1::SendRequest req;
    req.set_recipient(to.handle);
    req.set_message_id(std::string(15, 'm') + static_cast<char>('a' + i));
    auto* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(to.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_PREKEY);
    e->set_ciphertext(absl::StrCat(kCiphertext, i));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", from.Header());
    v1::SendResponse resp;
    return messages_->Send(&ctx, req, &resp);
  }

  int metrics_port_ = 0;
  std::string therapist_header_;
  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Messages::Stub> messages_;
};

TEST_F(MetricsScrapeTest, CountersFollowSendsFetchesAcksAndRefusals) {
  const Samples before = Parse(Scrape(metrics_port_));
  EXPECT_EQ(Get(before, "sotto_build_info{version=\"0.1.0\"}"), 1);
  EXPECT_EQ(Get(before, "sotto_queue_envelopes"), 0);
  EXPECT_GT(Get(before, "sotto_data_dir_free_bytes"), 0);
  EXPECT_GT(Get(before, "sotto_process_resident_memory_bytes"), 0);
  EXPECT_GT(Get(before, "sotto_process_open_fds"), 0);

  Device therapist = Register(kTherapist, 11);
  Device client = Register(kClient, 22);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(therapist, client, i).ok());
  // --rate-sends 3/1: the fourth Send within the hour is refused.
  EXPECT_EQ(Send(therapist, client, 3).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  grpc::ClientContext fetch_ctx;
  fetch_ctx.AddMetadata("authorization", client.Header());
  v1::FetchResponse fetched;
  ASSERT_TRUE(messages_->Fetch(&fetch_ctx, v1::FetchRequest(), &fetched).ok());
  ASSERT_EQ(fetched.envelopes_size(), 3);
  grpc::ClientContext ack_ctx;
  ack_ctx.AddMetadata("authorization", client.Header());
  v1::AckRequest ack;
  ack.add_seqs(fetched.envelopes(0).seq());
  ack.add_seqs(fetched.envelopes(1).seq());
  v1::AckResponse acked;
  ASSERT_TRUE(messages_->Ack(&ack_ctx, ack, &acked).ok());
  // A wrong secret: UNAUTHENTICATED, counted by code.
  Device impostor = client;
  impostor.secret = std::string(32, '\x01');
  grpc::ClientContext bad_ctx;
  bad_ctx.AddMetadata("authorization", impostor.Header());
  EXPECT_EQ(messages_->Fetch(&bad_ctx, v1::FetchRequest(), &fetched).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  const std::string body = Scrape(metrics_port_);
  const Samples after = Parse(body);
  EXPECT_EQ(Get(after, Rpc("Messages/Send", "OK")), 3);
  EXPECT_EQ(Get(after, Rpc("Messages/Send", "RESOURCE_EXHAUSTED")), 1);
  EXPECT_EQ(Get(after, Rpc("Messages/Fetch", "OK")), 1);
  EXPECT_EQ(Get(after, Rpc("Messages/Fetch", "UNAUTHENTICATED")), 1);
  EXPECT_EQ(Get(after, Rpc("Messages/Ack", "OK")), 1);
  EXPECT_EQ(Get(after, Rpc("Accounts/Register", "OK")), 2);
  EXPECT_EQ(Get(after, "sotto_rpc_duration_seconds_count{method=\"sotto.v1.Messages/Send\"}"), 4);
  EXPECT_EQ(Get(after, "sotto_refusals_total{limit=\"sends_per_device\"}"), 1);
  EXPECT_EQ(Get(after, "sotto_envelopes_total{event=\"accepted\"}"), 3);
  EXPECT_EQ(Get(after, "sotto_envelopes_total{event=\"fetched\"}"), 3);
  EXPECT_EQ(Get(after, "sotto_envelopes_total{event=\"acked\"}"), 2);
  // What still waits: one envelope, in one device's queue.
  EXPECT_EQ(Get(after, "sotto_queue_envelopes"), 1);
  EXPECT_GT(Get(after, "sotto_queue_bytes"), 0);
  EXPECT_EQ(Get(after, "sotto_queue_devices_waiting"), 1);
  // Sends and the Ack waited for WAL syncs.
  EXPECT_GE(Get(after, "sotto_log_sync_duration_seconds_count"), 2);
  EXPECT_EQ(Get(after, "sotto_log_sync_duration_seconds_count"),
            Get(after, "sotto_log_sync_duration_seconds_bucket{le=\"+Inf\"}"));
  // Our channel is one established connection to the gRPC port.
  EXPECT_GE(Get(after, "sotto_tcp_connections"), 1);
  // Who and what never appear: no handle, no ciphertext.
  EXPECT_EQ(body.find(kTherapist), std::string::npos);
  EXPECT_EQ(body.find(kClient), std::string::npos);
  EXPECT_EQ(body.find(kCiphertext), std::string::npos);

  // The operator's documentation and alert rules name what is served, and
  // everything served is documented.
  const std::set<std::string> served = Families(body);
  const std::set<std::string> documented = NamesIn("docs/OPERATIONS.md");
  for (const std::string& name : served) {
    EXPECT_TRUE(documented.count(name)) << name << " is not in docs/OPERATIONS.md";
  }
  for (const std::string& name : NamesIn("deploy/prometheus/sotto-alerts.yml")) {
    EXPECT_TRUE(served.count(name)) << "sotto-alerts.yml uses " << name << ", not served";
  }
  EXPECT_TRUE(server_->Stop().ok());
}

TEST_F(MetricsScrapeTest, OpenStreamsAndActiveCallsAreGauges) {
  Register(kTherapist, 11);
  Device client = Register(kClient, 22);
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", client.Header());
  auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
  v1::SubscribeEvent event;
  ASSERT_TRUE(reader->Read(&event));
  ASSERT_TRUE(event.drained());
  // A unary call's active-call gauge moves down after its answer has left
  // (the interceptor's last step), so the Register before may still count
  // for a moment (seen under ASan at load): wait for it to settle.
  Samples open;
  for (int i = 0; i < 100; ++i) {
    open = Parse(Scrape(metrics_port_));
    if (Get(open, "sotto_rpc_active_calls") <= 1) break;
    usleep(20000);
  }
  EXPECT_EQ(Get(open, "sotto_subscribe_streams"), 1);
  EXPECT_EQ(Get(open, "sotto_rpc_active_calls"), 1);

  ctx->TryCancel();
  while (reader->Read(&event)) {
  }
  reader->Finish().ok();
  // The server notices the cancel asynchronously, and the stream gauge, the
  // active-call gauge and the per-status counter each move at their own step
  // of the call's end (seen apart under ASan): wait for all three.
  Samples closed;
  for (int i = 0; i < 100; ++i) {
    closed = Parse(Scrape(metrics_port_));
    if (Get(closed, "sotto_subscribe_streams") == 0 &&
        Get(closed, "sotto_rpc_active_calls") == 0 &&
        Get(closed, Rpc("Messages/Subscribe", "CANCELLED")) == 1) {
      break;
    }
    usleep(20000);
  }
  EXPECT_EQ(Get(closed, "sotto_subscribe_streams"), 0);
  EXPECT_EQ(Get(closed, "sotto_rpc_active_calls"), 0);
  EXPECT_EQ(Get(closed, Rpc("Messages/Subscribe", "CANCELLED")), 1);
}

TEST(MetricsFlagsTest, OffLoopbackIsRefusedUnlessAllowed) {
  const sotto::testing::ServerCommandResult run =
      sotto::testing::RunServerCommand("--data-dir /nonexistent --metrics-listen 0.0.0.0:9464");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("--metrics-listen 0.0.0.0:9464 is off loopback"), std::string::npos)
      << run.output;
  const sotto::testing::ServerCommandResult malformed =
      sotto::testing::RunServerCommand("--data-dir /nonexistent --metrics-listen 9464");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.output.find("--metrics-listen must be HOST:PORT"), std::string::npos)
      << malformed.output;
}

}  // namespace
