// The server's log while its database is down (issue 17), as the operator
// at the outage reads it: the first storage error in full on one line, then
// one count every 10 s instead of a line per failed request.
//
// StorageErrorLogTest drives the policy (server/storage/error_log.h) with a
// fake time; PgOutageLogTest kills the real PostgreSQL under the real
// sotto-server binary and reads its stderr.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/error_log.h"
#include "testing/message_load.h"
#include "testing/postgres_instance.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// What libpq says when no host of a URL takes connections.
constexpr char kLibpqRefused[] =
    "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
    "\tIs the server running on that host and accepting TCP/IP connections?\n"
    "connection to server at \"127.0.0.1\", port 5433 failed: session is read-only\n";

class StorageErrorLogTest : public ::testing::Test {
 protected:
  std::vector<std::string> lines_;
  StorageErrorLog log_{[this](const std::string& line) { lines_.push_back(line); }};
  const absl::Time t0_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(StorageErrorLogTest, LibpqsSeveralLinesBecomeOne) {
  EXPECT_EQ(StorageErrorLog::OneLine(kLibpqRefused),
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused Is the "
            "server running on that host and accepting TCP/IP connections?; connection to server "
            "at \"127.0.0.1\", port 5433 failed: session is read-only");
  EXPECT_EQ(StorageErrorLog::OneLine("IO error: No space left on device"),
            "IO error: No space left on device");
}

TEST_F(StorageErrorLogTest, TheFirstErrorInFullThenACountEveryTenSeconds) {
  log_.Add("postgres://db", kLibpqRefused, t0_);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr("storage error: postgres://db: connection to server at"));
  EXPECT_THAT(lines_[0], Not(HasSubstr("\n")));
  for (int i = 1; i <= 500; ++i) {
    log_.Add("get from sotto_accounts", "server closed the connection",
             t0_ + absl::Milliseconds(i));
  }
  log_.Flush(t0_ + absl::Seconds(9));
  EXPECT_EQ(lines_.size(), 1u) << "no line per error within the window";
  log_.Flush(t0_ + absl::Seconds(10));
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[1],
            "storage error: 500 more storage errors in the last 10 s; the latest: get from "
            "sotto_accounts: server closed the connection");
  // The outage goes on: the next window's errors make the next count.
  log_.Add("put", "x", t0_ + absl::Seconds(12));
  log_.Flush(t0_ + absl::Seconds(20));
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[2], "storage error: 1 more storage error in the last 10 s; the latest: put: x");
}

TEST_F(StorageErrorLogTest, AfterTenQuietSecondsTheNextErrorIsWrittenInFull) {
  log_.Add("a", "first outage", t0_);
  log_.Flush(t0_ + absl::Seconds(30));  // nothing left out: nothing to count
  log_.Add("b", "second outage", t0_ + absl::Seconds(31));
  EXPECT_THAT(lines_,
              ElementsAre("storage error: a: first outage", "storage error: b: second outage"));
}

TEST_F(StorageErrorLogTest, ASummaryIsDueAtTheEndOfItsWindow) {
  EXPECT_EQ(log_.AwaitSummaryDue(absl::Now()), absl::InfiniteFuture());
  log_.Add("a", "x", t0_);
  log_.Add("a", "y", t0_ + absl::Seconds(1));
  EXPECT_EQ(log_.AwaitSummaryDue(absl::InfiniteFuture()), t0_ + absl::Seconds(10));
}

// The real binary on a real PostgreSQL that is SIGKILLed: every Send fails
// with UNAVAILABLE, and the log holds one full line, then the count.
TEST(PgOutageLogTest, ADeadDatabaseGivesOneLineThenACountNotALinePerRequest) {
  auto pg = sotto::testing::PostgresInstance::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  sotto::testing::TempDir dir;
  const std::string log_path = dir.sub("stderr.log");
  const std::string wrapper = dir.sub("sotto-server-wrapper");
  std::ofstream(wrapper) << "#!/bin/sh\nexec " << sotto::testing::kServerBinary << " \"$@\" 2>>"
                         << log_path << "\n";
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  std::vector<std::string> args = sotto::testing::RateLimitsOffArgs();
  args.push_back("--store");
  args.push_back((*pg)->url());
  auto server = sotto::testing::ServerProcess::Start(wrapper, args);
  ASSERT_TRUE(server.ok()) << server.status();
  sotto::testing::MessageLoad load;
  ASSERT_TRUE(load.Setup((*server)->address(), (*server)->data_dir(), 1).ok());
  ASSERT_TRUE(load.Send(0, 0).ok());

  ASSERT_TRUE((*pg)->Kill().ok());
  constexpr int kFailed = 100;
  for (int n = 1; n <= kFailed; ++n) {
    grpc::Status s = load.Send(0, n);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << n << ": " << s.error_message();
  }
  auto storage_lines = [&] {
    std::ifstream in(log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(ss.str(), '\n')) {
      if (absl::StrContains(line, "storage error: ")) out.emplace_back(line);
    }
    return out;
  };
  // The count comes within 10 s of the first line (a thread writes it on
  // time, without waiting for another error).
  std::vector<std::string> lines = storage_lines();
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < end &&
       (lines.empty() || !absl::StrContains(lines.back(), "more storage errors in the last"));
       lines = storage_lines()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], Not(HasSubstr("more storage error"))) << "the first in full";
  int counted = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    int n = 0;
    ASSERT_EQ(std::sscanf(lines[i].c_str(), "sotto-server: error: storage error: %d more", &n), 1)
        << "after the first, only counts: " << lines[i];
    counted += n;
  }
  // Every failed Send is in the count (the bus and the leader's retries
  // may add theirs).
  EXPECT_GE(counted + 1, kFailed) << lines.back();
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr("\\x09"))) << "libpq's tab, escaped";
    EXPECT_THAT(line, Not(HasSubstr("\\n"))) << "libpq's newline, escaped";
  }
}

}  // namespace
}  // namespace sotto::server
