// sotto-server's log as an operator reads it: the real binary's stderr
// while real calls are made. One line per event, JSON lines on request,
// and a request log that names the method, status and latency but never a
// handle or a byte of what was sent.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/server_process.h"
#include "testing/signal_test_keys.h"
#include "testing/temp_dir.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = ::sotto::v1;

constexpr char kHandle[] = "dr-loggable";
constexpr char kContent[] = "CONTENT-MARKER-4f1c";
const std::string kSecret(32, 'Q');

// The real server with its stderr in a file: a wrapper script is the
// binary ServerProcess runs.
class ServerLogTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> args) {
    const std::string wrapper = dir_.sub("sotto-server-wrapper");
    std::ofstream(wrapper) << "#!/bin/sh\nexec " << sotto::testing::kServerBinary << " \"$@\" 2>>"
                           << LogPath() << "\n";
    std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
    auto server = sotto::testing::ServerProcess::Start(wrapper, std::move(args));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  std::string LogPath() const { return dir_.sub("stderr.log"); }

  // Stops the server (so every line is written) and returns its stderr.
  std::string StopAndReadLog() {
    EXPECT_TRUE(server_->Stop().ok());
    std::ifstream in(LogPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // A therapist registers (OK), then sends with a wrong secret
  // (UNAUTHENTICATED) and with the right one to nobody (an error status).
  void MakeCalls() {
    auto code = sotto::testing::IssueEnrolmentCode(server_->data_dir(), kHandle);
    ASSERT_TRUE(code.ok()) << code.status();
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    sotto::testing::SignalTestKeys keys;
    auto spk = keys.MakeSignedPreKey(1);
    v1::RegisterRequest reg;
    reg.set_handle(kHandle);
    reg.set_role(v1::ROLE_THERAPIST);
    reg.set_enrolment_code(*code);
    reg.set_device_secret(kSecret);
    reg.set_registration_id(77);
    reg.mutable_keys()->set_identity_key(keys.identity_key());
    reg.mutable_keys()->mutable_signed_prekey()->set_id(spk.id);
    reg.mutable_keys()->mutable_signed_prekey()->set_public_key(spk.public_key);
    reg.mutable_keys()->mutable_signed_prekey()->set_signature(spk.signature);
    grpc::ClientContext reg_ctx;
    v1::RegisterResponse reg_resp;
    grpc::Status registered = v1::Accounts::NewStub(channel)->Register(&reg_ctx, reg, &reg_resp);
    ASSERT_TRUE(registered.ok()) << registered.error_message();
    auto messages = v1::Messages::NewStub(channel);
    for (const std::string& secret : {std::string(32, 'W'), kSecret}) {
      grpc::ClientContext ctx;
      ctx.AddMetadata(sotto::kAuthorizationKey,
                      sotto::AuthorizationValue(kHandle, reg_resp.device_id(), secret));
      v1::SendRequest req;
      req.set_recipient("patient-nobody");
      req.add_envelopes()->set_ciphertext(kContent);
      v1::SendResponse resp;
      EXPECT_FALSE(messages->Send(&ctx, req, &resp).ok());
    }
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<sotto::testing::ServerProcess> server_;
};

std::vector<std::string> Lines(const std::string& log) {
  return absl::StrSplit(log, '\n', absl::SkipEmpty());
}

TEST_F(ServerLogTest, JsonRequestLogHasMethodStatusLatencyAndNoHandleOrContent) {
  StartServer({"--log-format", "json"});
  MakeCalls();
  const std::string log = StopAndReadLog();
  std::vector<google::protobuf::Struct> requests;
  for (const std::string& line : Lines(log)) {
    google::protobuf::Struct event;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok()) << line;
    const auto& f = event.fields();
    ASSERT_TRUE(f.contains("ts") && f.contains("level") && f.contains("msg")) << line;
    if (f.at("msg").string_value() == "request") requests.push_back(event);
  }
  std::vector<std::string> seen;
  for (const auto& event : requests) {
    const auto& f = event.fields();
    ASSERT_TRUE(f.contains("method") && f.contains("status") && f.contains("ms"));
    EXPECT_GE(f.at("ms").number_value(), 0.0);
    EXPECT_EQ(f.at("level").string_value(), "info");
    seen.push_back(f.at("method").string_value() + " " + f.at("status").string_value());
  }
  EXPECT_THAT(seen, ::testing::IsSupersetOf({"/sotto.v1.Accounts/Register OK",
                                             "/sotto.v1.Messages/Send UNAUTHENTICATED"}));
  EXPECT_EQ(std::count_if(
                seen.begin(), seen.end(),
                [](const std::string& s) { return s.rfind("/sotto.v1.Messages/Send ", 0) == 0; }),
            2)
      << log;
  // Who and what never reach the log (the audit log, in the database,
  // keeps who).
  EXPECT_THAT(log, Not(HasSubstr(kHandle)));
  EXPECT_THAT(log, Not(HasSubstr("loggable")));
  EXPECT_THAT(log, Not(HasSubstr(kContent)));
  EXPECT_THAT(log, Not(HasSubstr("patient-nobody")));
  EXPECT_THAT(log, Not(HasSubstr("127.0.0.1:")));  // no peer address
}

TEST_F(ServerLogTest, TextIsTheDefaultAndWarnHidesTheRequestLog) {
  StartServer({});
  MakeCalls();
  const std::string text = StopAndReadLog();
  EXPECT_THAT(text,
              ::testing::ContainsRegex("\nsotto-server: request method=/sotto.v1.Messages/Send "
                                       "status=UNAUTHENTICATED ms=[0-9]+\\.[0-9]{3}\n"));
  for (const std::string& line : Lines(text)) {
    EXPECT_EQ(line.rfind("sotto-server: ", 0), 0u) << line;
  }
  EXPECT_THAT(text, Not(HasSubstr(kHandle)));
  std::filesystem::remove(LogPath());

  server_.reset();
  StartServer({"--log-level", "warn"});
  MakeCalls();
  const std::string quiet = StopAndReadLog();
  EXPECT_THAT(quiet, Not(HasSubstr("request")));
  EXPECT_THAT(quiet, Not(HasSubstr("audit head")));
}

TEST_F(ServerLogTest, ConfigFileSetsTheLogFormatAndLevel) {
  const std::string config = dir_.sub("log.toml");
  std::ofstream(config) << "log-format = \"json\"\nlog-level = \"info\"\n";
  StartServer({"--config", config});
  MakeCalls();
  const std::string log = StopAndReadLog();
  ASSERT_FALSE(Lines(log).empty());
  for (const std::string& line : Lines(log)) {
    EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  }
  EXPECT_THAT(log, HasSubstr("\"msg\":\"request\",\"method\":\"/sotto.v1.Messages/Send\""));
}

}  // namespace
