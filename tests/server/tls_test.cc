// TLS on the client port: the real server (in-process and the binary) with
// certificates made at run time, judged by gRPC's own TLS client configured
// with the test CA. A refused handshake is UNAVAILABLE; a handshake that
// succeeds reaches the server, which answers an unauthenticated WhoAmI with
// UNAUTHENTICATED.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/rpc/server.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"
#include "testing/test_certs.h"

namespace sotto::server::rpc {
namespace {

using ::sotto::testing::TestCerts;
using ::testing::HasSubstr;
namespace v1 = ::sotto::v1;

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), ": ", s.error_message());
}

// Calls WhoAmI without credentials over `creds` to `target`.
grpc::Status Probe(const std::string& target,
                   const std::shared_ptr<grpc::ChannelCredentials>& creds) {
  auto stub = v1::Accounts::NewStub(grpc::CreateChannel(target, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::WhoAmIResponse resp;
  return stub->WhoAmI(&ctx, v1::WhoAmIRequest(), &resp);
}

std::shared_ptr<grpc::ChannelCredentials> TrustOnly(const std::string& ca_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  return grpc::SslCredentials(options);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto certs = TestCerts::Make();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = certs->release();
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  // Starts an in-process server presenting `pair`; returns its port.
  int Serve(const TestCerts::KeyPair& pair) {
    ServerOptions options;
    options.data_dir = dir_.path() + "/db";
    options.listen_address = "127.0.0.1:0";
    options.tls_cert_pem = pair.cert_pem;
    options.tls_key_pem = pair.key_pem;
    auto server = SottoServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return 0;
    server_ = *std::move(server);
    return server_->port();
  }

  static TestCerts* certs_;
  sotto::testing::TempDir dir_;
  std::unique_ptr<SottoServer> server_;
};

TestCerts* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, ClientTrustingTheCaReachesTheServerByNameAndAddress) {
  int port = Serve(certs_->server);
  ASSERT_NE(port, 0);
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    grpc::Status s = Probe(absl::StrCat(host, ":", port), TrustOnly(certs_->ca.cert_pem));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << host << " " << Describe(s);
  }
}

TEST_F(TlsTest, PlaintextToTheTlsPortFails) {
  int port = Serve(certs_->server);
  ASSERT_NE(port, 0);
  grpc::Status s = Probe(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefused) {
  int port = Serve(certs_->other_ca_server);
  ASSERT_NE(port, 0);
  grpc::Status s = Probe(absl::StrCat("localhost:", port), TrustOnly(certs_->ca.cert_pem));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  // Control: the same server is reachable by a client trusting its CA, so
  // the refusal above is the CA check.
  s = Probe(absl::StrCat("localhost:", port), TrustOnly(certs_->other_ca.cert_pem));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);
}

TEST_F(TlsTest, CertificateForAnotherHostIsRefused) {
  int port = Serve(certs_->wrong_host);
  ASSERT_NE(port, 0);
  grpc::Status s = Probe(absl::StrCat("localhost:", port), TrustOnly(certs_->ca.cert_pem));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  // Control: asking for the name the certificate has succeeds, so the
  // refusal above is the host-name check.
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("wrong-host.example");
  auto stub = v1::Accounts::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("localhost:", port), TrustOnly(certs_->ca.cert_pem), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::WhoAmIResponse resp;
  s = stub->WhoAmI(&ctx, v1::WhoAmIRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);
}

TEST_F(TlsTest, ExpiredCertificateIsRefused) {
  int port = Serve(certs_->expired);
  ASSERT_NE(port, 0);
  grpc::Status s = Probe(absl::StrCat("localhost:", port), TrustOnly(certs_->ca.cert_pem));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
}

TEST_F(TlsTest, CertificateWithoutKeyIsInvalid) {
  ServerOptions options;
  options.data_dir = dir_.path() + "/db";
  options.listen_address = "127.0.0.1:0";
  options.tls_cert_pem = certs_->server.cert_pem;
  auto server = SottoServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << server.status();
}

// --- The binary ------------------------------------------------------------

using RunResult = ::sotto::testing::ServerCommandResult;
inline RunResult RunServer(const std::string& args) {
  return ::sotto::testing::RunServerCommand(args);
}

TEST_F(TlsTest, BinaryRefusesACertificateWithoutItsKeyAndViceVersa) {
  RunResult run =
      RunServer(absl::StrCat("--data-dir ", dir_.path(), "/db --listen 127.0.0.1:0 --tls-cert ",
                             certs_->server.cert_path));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--tls-cert needs --tls-key"));
  run = RunServer(absl::StrCat("--data-dir ", dir_.path(), "/db --listen 127.0.0.1:0 --tls-key ",
                               certs_->server.key_path));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--tls-key needs --tls-cert"));
}

TEST_F(TlsTest, BinaryRefusesAMissingOrNonPemCertificate) {
  RunResult run = RunServer(absl::StrCat("--data-dir ", dir_.path(),
                                         "/db --listen 127.0.0.1:0 --tls-cert /nonexistent.pem",
                                         " --tls-key ", certs_->server.key_path));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("/nonexistent.pem"));
}

// With TLS the binary may listen off loopback; it serves TLS there.
TEST_F(TlsTest, BinaryServesTlsOnAnyAddress) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  std::string data_dir = dir_.path() + "/db";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execl(SOTTO_SERVER_BINARY, SOTTO_SERVER_BINARY, "--data-dir", data_dir.c_str(), "--listen",
          "0.0.0.0:0", "--tls-cert", certs_->server.cert_path.c_str(), "--tls-key",
          certs_->server.key_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buf[256];
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fds[0]);
  std::string port;
  size_t colon = out.rfind(':');
  if (colon != std::string::npos) port = out.substr(colon + 1, out.find('\n') - colon - 1);
  EXPECT_THAT(out, HasSubstr("sotto-server listening on 0.0.0.0:"));
  if (!port.empty()) {
    grpc::Status s = Probe("localhost:" + port, TrustOnly(certs_->ca.cert_pem));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);
    s = Probe("127.0.0.1:" + port, grpc::InsecureChannelCredentials());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace sotto::server::rpc
