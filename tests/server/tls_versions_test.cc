// Which TLS versions and cipher suites the real sotto-server binary
// accepts, asked of it on a loopback port by `openssl s_client` offering
// exactly one version or suite at a time: TLS 1.2 and 1.3 with forward-
// secret AEAD suites only (docs/SECURITY.md). A control handshake against
// `openssl s_server` shows the client really can speak TLS 1.1, so its
// refusal by sotto-server is the server's.

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"
#include "testing/test_certs.h"

namespace sotto::server {
namespace {

using ::sotto::testing::ServerProcess;
using ::sotto::testing::TestCerts;

// Output of a shell command (stdout and stderr).
std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 512> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

// "accepted SUITE" if a handshake with `port` completed, or "refused".
// `offer` are s_client flags naming the one version the client offers (so
// a completed handshake is of that version); SECLEVEL=0 lets it offer what
// Debian's defaults forbid.
std::string Handshake(int port, const std::string& offer) {
  std::string out = Shell(absl::StrCat(
      "echo | timeout 20 openssl s_client -connect 127.0.0.1:", port, " -alpn h2 ", offer));
  const std::string marker = "New, ";
  size_t at = out.find(marker);
  if (at == std::string::npos) return "no handshake output: " + out;
  std::string line = out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());
  if (line.rfind("(NONE)", 0) == 0) return "refused";
  // "TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" (the version there
  // is the suite's, not the connection's).
  return "accepted " + line.substr(line.find(", Cipher is ") + 12);
}

class TlsVersionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto certs = TestCerts::Make();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = certs->release();
    auto server = ServerProcess::Start(
        ServerProcess::kDefaultBinary,
        {"--tls-cert", certs_->server.cert_path, "--tls-key", certs_->server.key_path});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    port_ = std::stoi(server_->address().substr(server_->address().rfind(':') + 1));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete certs_;
  }

  static TestCerts* certs_;
  static ServerProcess* server_;
  static int port_;
};

TestCerts* TlsVersionsTest::certs_ = nullptr;
ServerProcess* TlsVersionsTest::server_ = nullptr;
int TlsVersionsTest::port_ = 0;

TEST_F(TlsVersionsTest, Tls13IsAcceptedWithEachOfItsAeadSuites) {
  EXPECT_EQ(Handshake(port_, "-tls1_3"), "accepted TLS_AES_256_GCM_SHA384");
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    EXPECT_EQ(Handshake(port_, absl::StrCat("-tls1_3 -ciphersuites ", suite)),
              absl::StrCat("accepted ", suite));
  }
  EXPECT_EQ(Handshake(port_, "-tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256"), "refused");
}

TEST_F(TlsVersionsTest, Tls12IsAcceptedOnlyWithEcdheAesGcm) {
  EXPECT_EQ(Handshake(port_, "-tls1_2"), "accepted ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(Handshake(port_, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"),
            "accepted ECDHE-ECDSA-AES128-GCM-SHA256");
  // CBC, ChaCha20 in 1.2, and no forward secrecy: all refused.
  for (const char* suite : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                            "ECDHE-ECDSA-CHACHA20-POLY1305", "AES128-GCM-SHA256"}) {
    EXPECT_EQ(Handshake(port_, absl::StrCat("-tls1_2 -cipher '", suite, ":@SECLEVEL=0'")),
              "refused")
        << suite;
  }
}

TEST_F(TlsVersionsTest, Tls11AndTls10AreRefused) {
  // Control: this client completes TLS 1.1 with a server that allows it.
  const int control_port = 20000 + getpid() % 20000;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // s_server quits at end of stdin: give it one that never ends (it holds
    // the write end itself).
    int never[2];
    if (pipe(never) != 0) _exit(126);
    dup2(never[0], STDIN_FILENO);
    const std::string accept = absl::StrCat("127.0.0.1:", control_port);
    execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-cert",
           certs_->server.cert_path.c_str(), "-key", certs_->server.key_path.c_str(), "-tls1_1",
           "-cipher", "DEFAULT@SECLEVEL=0", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string control;
  for (int i = 0; i < 50; ++i) {
    usleep(100000);
    control = Handshake(control_port, "-tls1_1 -cipher DEFAULT@SECLEVEL=0");
    if (control.rfind("accepted", 0) == 0) break;
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_THAT(control, ::testing::StartsWith("accepted "));

  EXPECT_EQ(Handshake(port_, "-tls1_1 -cipher DEFAULT@SECLEVEL=0"), "refused");
  EXPECT_EQ(Handshake(port_, "-tls1 -cipher DEFAULT@SECLEVEL=0"), "refused");
}

TEST_F(TlsVersionsTest, AnotherCipherListInTheEnvironmentIsRefusedAtStart) {
  // gRPC would serve whatever GRPC_SSL_CIPHER_SUITES names, CBC included.
  sotto::testing::TempDir tmp;
  std::string out = Shell(absl::StrCat(
      "(GRPC_SSL_CIPHER_SUITES=ECDHE-ECDSA-AES128-SHA timeout 20 ", ServerProcess::kDefaultBinary,
      " --data-dir ", tmp.path(), "/db --listen 127.0.0.1:0 --tls-cert ", certs_->server.cert_path,
      " --tls-key ", certs_->server.key_path, " 2>&1; echo exit=$?)"));
  EXPECT_THAT(out, ::testing::HasSubstr("GRPC_SSL_CIPHER_SUITES is set"));
  EXPECT_THAT(out, ::testing::HasSubstr("exit=1"));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("listening on")));
}

}  // namespace
}  // namespace sotto::server
