#ifndef SOTTO_TESTS_E2E_CLI_FIXTURE_H_
#define SOTTO_TESTS_E2E_CLI_FIXTURE_H_

// Runs the `sotto` binary as a person would, against a real sotto-server:
// the fixture of the cli_*_test.cc files.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/test_certs.h"

namespace sotto {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sotto-cli-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `sotto --profile <dir>/<who> args...` with the passphrase in the
  // environment and `input` on stdin.
  // `env` ("NAME=value ...") is set for that one run.
  // The tests' passphrases ("correct horse") are weaker than `init` and
  // `passwd` accept, so SOTTO_ALLOW_WEAK_PASSPHRASE=1 is set unless `env`
  // sets it otherwise.
  CliRun Sotto(const std::string& who, const std::string& args,
               const std::string& passphrase = "correct horse", const std::string& input = "",
               const std::string& env = "") {
    const std::string in = (dir_ / "stdin").string();
    const std::string out = (dir_ / "stdout").string();
    const std::string err = (dir_ / "stderr").string();
    std::ofstream(in) << input;
    std::string command =
        absl::StrCat("SOTTO_ALLOW_WEAK_PASSPHRASE=1 ", env, " SOTTO_PASSPHRASE=", Quote(passphrase),
                     " ", SOTTO_CLI_BINARY, " --profile ", Quote((dir_ / who).string()), " ", args,
                     " <", in, " >", out, " 2>", err);
    int status = std::system(command.c_str());
    CliRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = Slurp(out);
    run.err = Slurp(err);
    return run;
  }

  // The server the test talks to: the fixture's plain one, or the TLS one a
  // test started (ServeTls).
  const sotto::testing::ServerProcess& Target() const {
    return tls_server_ ? *tls_server_ : *server_;
  }

  // A therapist enrolled by the operator, or a client invited by `by`, with
  // global `flags` (e.g. "--ca FILE") and `env` for the run.
  CliRun InitTherapist(const std::string& who, const std::string& flags = "",
                       const std::string& env = "") {
    auto code = sotto::testing::EnrolmentCode(Target(), who);
    EXPECT_TRUE(code.ok()) << code.status();
    return Sotto(who,
                 absl::StrCat(flags, " init --server ", Target().address(),
                              " --role therapist --name ", who, " --enrol ", *code),
                 "correct horse", "", env);
  }
  CliRun InitClient(const std::string& who, const std::string& by, const std::string& flags = "") {
    std::string code = InviteCode(by);
    return Sotto(who, absl::StrCat(flags, " init --server ", Target().address(),
                                   " --role client --name ", who, " --invite ", code));
  }

  // Starts a TLS server presenting `pair`; from then on Target() is it.
  void ServeTls(const sotto::testing::TestCerts::KeyPair& pair) {
    auto started = sotto::testing::ServerProcess::Start(
        sotto::testing::ServerProcess::kDefaultBinary,
        {"--tls-cert", pair.cert_path, "--tls-key", pair.key_path});
    ASSERT_TRUE(started.ok()) << started.status();
    tls_server_ = std::move(*started);
  }
  // Runs `sotto invite` as `therapist` and reads the code from its output.
  std::string InviteCode(const std::string& therapist) {
    CliRun invite = Sotto(therapist, "invite");
    EXPECT_EQ(invite.exit_code, 0) << invite.err;
    const std::string prefix = "Invite code: ";
    size_t at = invite.out.find(prefix);
    EXPECT_NE(at, std::string::npos) << invite.out;
    if (at == std::string::npos) return "";
    at += prefix.size();
    return invite.out.substr(at, invite.out.find('\n', at) - at);
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::unique_ptr<sotto::testing::ServerProcess> tls_server_;
  std::filesystem::path dir_;
};

// ---- the CLI against a TLS server (certificates made at run time) ----

class CliTlsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_OK_AND_ASSIGN(certs_, sotto::testing::TestCerts::Shared());
  }

  const sotto::testing::TestCerts* certs_ = nullptr;
};

}  // namespace sotto

#endif  // SOTTO_TESTS_E2E_CLI_FIXTURE_H_
