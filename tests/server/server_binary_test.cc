// The sotto-server command line: its stdout contract, startup errors and
// graceful shutdown.

#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"

namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

RunResult RunServer(const std::string& args) {
  RunResult run;
  std::string cmd = std::string(SOTTO_SERVER_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) run.output += buf.data();
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
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
    RunResult run = RunServer(std::string("--data-dir /tmp/sotto-never-created --listen ") + listen);
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

}  // namespace
