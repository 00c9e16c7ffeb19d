// The sotto-server command line: its stdout contract, startup errors and
// graceful shutdown.

#include <grpcpp/grpcpp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/schema_version.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/server_process.h"
#include "testing/signal_test_keys.h"

namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
namespace v1 = ::sotto::v1;

using RunResult = ::sotto::testing::ServerCommandResult;
inline RunResult RunServer(const std::string& args) {
  return ::sotto::testing::RunServerCommand(args);
}

TEST(ServerBinaryTest, PrintsTheBoundAddressAndStopsCleanlyOnSigterm) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->address(), MatchesRegex("127\\.0\\.0\\.1:[1-9][0-9]*"));
  EXPECT_TRUE((*server)->Stop().ok());
  // The database was closed cleanly: it opens again.
  EXPECT_TRUE((*server)->Restart().ok());
  EXPECT_TRUE((*server)->Stop().ok());
}

TEST(ServerBinaryTest, RefusesPlainTcpOffLoopback) {
  for (const char* listen : {"0.0.0.0:0", "192.0.2.1:7443", "[::]:0", "example.com:1"}) {
    RunResult run =
        RunServer(std::string("--data-dir /tmp/sotto-never-created --listen ") + listen);
    EXPECT_NE(run.exit_code, 0) << listen;
    EXPECT_THAT(run.output, HasSubstr("TLS is required")) << listen;
    EXPECT_THAT(run.output, Not(HasSubstr("listening on"))) << listen;
  }
}

TEST(ServerBinaryTest, SecondServerOnTheSameDataDirFailsWithOneLine) {
  auto first = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  RunResult run = RunServer("--listen 127.0.0.1:0 --data-dir " + (*first)->data_dir());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr((*first)->data_dir()));
  EXPECT_THAT(run.output, HasSubstr("lock"));
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
}

TEST(ServerBinaryTest, UnusableDataDirFailsWithOneLine) {
  RunResult run = RunServer("--listen 127.0.0.1:0 --data-dir /proc/sotto/db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("/proc/sotto/db"));
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
}

TEST(ServerBinaryTest, MalformedListenAddressIsAnError) {
  RunResult run = RunServer("--data-dir /tmp/sotto-never-created --listen nonsense");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.output, HasSubstr("HOST:PORT"));
}

// Runs the binary with `args`, keeping stdout and stderr apart.
struct SplitRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};
SplitRun RunSplit(const std::string& args) {
  char err_path[] = "/tmp/sotto-server-stderr-XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd < 0) return {};
  close(fd);
  SplitRun run;
  const std::string cmd =
      std::string(sotto::testing::kServerBinary) + " " + args + " 2>" + err_path;
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) run.out += buf;
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream in(err_path);
  std::stringstream err;
  err << in.rdbuf();
  run.err = err.str();
  unlink(err_path);
  return run;
}

// server/README.md: flag errors are one line on stderr and exit status 2
// (CLI11's own are 104-109 with two lines).
TEST(ServerBinaryTest, FlagErrorsExitTwoWithOneLineOnStderr) {
  for (const char* args :
       {"--no-such-flag", "frobnicate --data-dir /tmp/x",
        "--io-threads many --data-dir /tmp/sotto-never-created", "--max-queue-mib 0",
        "--store-pool-size 0 --data-dir /tmp/sotto-never-created",
        "enrol-therapist --name dr-lee", "stats --data-dir"}) {
    SplitRun run = RunSplit(args);
    EXPECT_EQ(run.exit_code, 2) << args << ": " << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << args << ": " << run.err;
    EXPECT_THAT(run.err, MatchesRegex("sotto-server: .* \\(see --help\\)\n")) << args;
    EXPECT_EQ(run.out, "") << args;
  }
}

TEST(ServerBinaryTest, HelpAndVersionExitZero) {
  SplitRun version = RunSplit("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, std::string("sotto-server ") + SOTTO_VERSION + " (database schema " +
                             std::to_string(sotto::server::kSchemaVersion) + ")\n");
  EXPECT_EQ(version.err, "");
  SplitRun help = RunSplit("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--data-dir"));
  EXPECT_THAT(help.out, HasSubstr("--version"));
  SplitRun sub_help = RunSplit("audit --help");
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_THAT(sub_help.out, HasSubstr("--verify"));
}

// Registers `handle` as a therapist with `code` on the server at `address`.
grpc::Status RegisterTherapist(const std::string& address, const std::string& handle,
                               const std::string& code) {
  sotto::testing::SignalTestKeys keys;
  auto spk = keys.MakeSignedPreKey(1);
  v1::RegisterRequest req;
  req.set_handle(handle);
  req.set_role(v1::ROLE_THERAPIST);
  req.set_enrolment_code(code);
  req.set_device_secret(std::string(32, '\x42'));
  req.set_registration_id(77);
  req.mutable_keys()->set_identity_key(keys.identity_key());
  req.mutable_keys()->mutable_signed_prekey()->set_id(spk.id);
  req.mutable_keys()->mutable_signed_prekey()->set_public_key(spk.public_key);
  req.mutable_keys()->mutable_signed_prekey()->set_signature(spk.signature);
  auto stub =
      v1::Accounts::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::RegisterResponse resp;
  return stub->Register(&ctx, req, &resp);
}

// The code in enrol-therapist's full output, which must have both lines.
std::string CodeFromFullOutput(const std::string& out, const std::string& handle) {
  std::smatch m;
  std::regex shape("Enrolment code for " + handle +
                   ": ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\n"
                   "Expires [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC\\. The therapist "
                   "registers with: sotto init --role therapist --name " +
                   handle + " --enrol ([A-Z2-9-]+) --server HOST:PORT\n");
  if (!std::regex_match(out, m, shape) || m[1] != m[2]) return "";
  return m[1];
}

const std::regex kQuietShape("[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\n");

TEST(ServerBinaryTest, EnrolTherapistWithNoServerRunningOpensTheDatabase) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  ASSERT_TRUE((*server)->Stop().ok());
  RunResult full = RunServer("enrol-therapist --data-dir " + dir + " --name dr-lee");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const std::string code = CodeFromFullOutput(full.output, "dr-lee");
  ASSERT_FALSE(code.empty()) << full.output;
  RunResult quiet =
      RunServer("enrol-therapist --data-dir " + dir + " --name dr-kim --valid-hours 2 --quiet");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  EXPECT_TRUE(std::regex_match(quiet.output, kQuietShape)) << quiet.output;
  // Both codes work once the server runs again.
  ASSERT_TRUE((*server)->Restart().ok());
  grpc::Status lee = RegisterTherapist((*server)->address(), "dr-lee", code);
  EXPECT_TRUE(lee.ok()) << lee.error_message();
  grpc::Status kim = RegisterTherapist((*server)->address(), "dr-kim",
                                       quiet.output.substr(0, quiet.output.size() - 1));
  EXPECT_TRUE(kim.ok()) << kim.error_message();
  // A registered handle gets no new code: one line on stderr, exit 1.
  RunResult again = RunServer("enrol-therapist --data-dir " + dir + " --name dr-lee");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("dr-lee is already registered"));
  EXPECT_EQ(std::count(again.output.begin(), again.output.end(), '\n'), 1) << again.output;
}

TEST(ServerBinaryTest, EnrolTherapistWhileTheServerRunsAsksItOverTheSocket) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  RunResult full = RunServer("enrol-therapist --data-dir " + dir + " --name dr-lee");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const std::string code = CodeFromFullOutput(full.output, "dr-lee");
  ASSERT_FALSE(code.empty()) << full.output;
  RunResult quiet = RunServer("enrol-therapist --data-dir " + dir + " --name dr-kim --quiet");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  ASSERT_TRUE(std::regex_match(quiet.output, kQuietShape)) << quiet.output;
  grpc::Status lee = RegisterTherapist((*server)->address(), "dr-lee", code);
  EXPECT_TRUE(lee.ok()) << lee.error_message();
  grpc::Status kim = RegisterTherapist((*server)->address(), "dr-kim",
                                       quiet.output.substr(0, quiet.output.size() - 1));
  EXPECT_TRUE(kim.ok()) << kim.error_message();
  RunResult bad = RunServer("enrol-therapist --data-dir " + dir + " --name 'Bad Name'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("handle"));
  EXPECT_EQ(std::count(bad.output.begin(), bad.output.end(), '\n'), 1) << bad.output;
}

TEST(ServerBinaryTest, EnrolTherapistWithTheDatabaseLockedAndNoSocketFailsClearly) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  std::error_code ec;
  ASSERT_TRUE(std::filesystem::remove(dir + "/operator.sock", ec)) << ec.message();
  RunResult run = RunServer("enrol-therapist --data-dir " + dir + " --name dr-lee");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("locked by a running server"));
  EXPECT_THAT(run.output, HasSubstr("operator.sock is missing or does not answer"));
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  EXPECT_THAT(run.output, Not(HasSubstr("Enrolment code")));
  EXPECT_TRUE((*server)->Stop().ok());
}

}  // namespace

namespace {

// `sotto-server stats` reads the running server's own counters: a refused
// Send is counted as refused, by code, never as sent.
TEST(ServerBinaryTest, StatsCountRefusedSendsByCodeAndNeedARunningServer) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  RunResult before = RunServer("stats --data-dir " + dir);
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_THAT(before.output, HasSubstr("sends_ok 0\n"));
  EXPECT_THAT(before.output, HasSubstr("sends_failed 0\n"));

  auto stub = v1::Messages::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata(sotto::kAuthorizationKey,
                    sotto::AuthorizationValue("nobody", 1, std::string(32, '\0')));
    v1::SendRequest req;
    req.set_recipient("dr-lee");
    v1::SendResponse resp;
    EXPECT_EQ(stub->Send(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  RunResult after = RunServer("stats --data-dir " + dir);
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_THAT(after.output, HasSubstr("sends_ok 0\n"));
  EXPECT_THAT(after.output, HasSubstr("sends_failed 2 (UNAUTHENTICATED 2)\n"));
  EXPECT_THAT(after.output, HasSubstr("envelopes_accepted 0\n"));
  // The disk's sync times, as numbers (their values: RpcConcurrencyTest).
  for (const char* name :
       {"log_sync_mean_us", "log_sync_max_us", "log_syncs_over_10ms", "log_syncs_over_100ms"}) {
    EXPECT_THAT(after.output, ::testing::ContainsRegex(std::string("\n") + name + " [0-9]+\n"))
        << name;
  }

  ASSERT_TRUE((*server)->Stop().ok());
  RunResult stopped = RunServer("stats --data-dir " + dir);
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_THAT(stopped.output, HasSubstr("no server is running on " + dir));
}

}  // namespace
