// `sotto-server backup` while the real server takes concurrent Sends, then
// `sotto-server restore` into a new data directory and a server started on
// it: every Send acknowledged before the backup started is there, once.

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/message_load.h"
#include "testing/server_process.h"

namespace {

using sotto::testing::MessageLoad;
using sotto::testing::RunServerCommand;
using sotto::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started =
        ServerProcess::Start(sotto::testing::kServerBinary, sotto::testing::RateLimitsOffArgs());
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    ASSERT_TRUE(load_.Setup(server_->address(), server_->data_dir(), kSenders).ok());
    backup_ = server_->root() + "/backup";
    restored_ = server_->root() + "/restored";
  }

  static constexpr int kSenders = 4;
  std::unique_ptr<ServerProcess> server_;
  MessageLoad load_;
  std::string backup_;
  std::string restored_;
};

TEST_F(BackupTest, RestoredServerHasEveryMessageAcknowledgedBeforeTheBackupOnce) {
  std::atomic<bool> stop{false};
  // Per sender: each acknowledged n with the time its acknowledgement came.
  std::vector<std::vector<std::pair<int, Clock::time_point>>> acked(kSenders);
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      for (int n = 0; !stop.load(); ++n) {
        if (load_.Send(i, n).ok()) acked[i].emplace_back(n, Clock::now());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Clock::time_point backup_started = Clock::now();
  auto backup = RunServerCommand("backup --data-dir " + server_->data_dir() + " --to " + backup_);
  // Sends go on after the backup too; none of them must be needed.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (std::thread& t : senders) t.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_NE(backup.output.find("keys: audit key, code pepper"), std::string::npos) << backup.output;

  auto restore = RunServerCommand("restore --from " + backup_ + " --data-dir " + restored_);
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  EXPECT_EQ(ReadFile(restored_ + ".code-pepper"), ReadFile(server_->data_dir() + ".code-pepper"));
  auto audit = RunServerCommand("audit --verify --data-dir " + restored_);
  EXPECT_EQ(audit.exit_code, 0) << audit.output;

  auto restarted = ServerProcess::StartOn(restored_, sotto::testing::kServerBinary,
                                          sotto::testing::RateLimitsOffArgs());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  load_.Reconnect((*restarted)->address());
  auto fetched = load_.FetchAll();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  std::map<std::string, int> seen;
  for (const std::string& body : *fetched) ++seen[body];
  size_t before = 0;
  for (int i = 0; i < kSenders; ++i) {
    for (const auto& [n, at] : acked[i]) {
      if (at >= backup_started) continue;
      ++before;
      EXPECT_EQ(seen[MessageLoad::Body(i, n)], 1) << MessageLoad::Body(i, n);
    }
  }
  for (const auto& [body, count] : seen) EXPECT_EQ(count, 1) << body << " restored twice";
  EXPECT_GT(before, 20u) << "the senders hardly sent before the backup";
  EXPECT_TRUE((*restarted)->Stop().ok());
}

TEST_F(BackupTest, BackupWithoutARunningServerReadsTheDatabase) {
  ASSERT_TRUE(load_.Send(0, 1).ok());
  ASSERT_TRUE(server_->Stop().ok());
  auto backup = RunServerCommand("backup --data-dir " + server_->data_dir() + " --to " + backup_);
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  auto restore = RunServerCommand("restore --from " + backup_ + " --data-dir " + restored_);
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  auto restarted = ServerProcess::StartOn(restored_);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  load_.Reconnect((*restarted)->address());
  auto fetched = load_.FetchAll();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(*fetched, std::vector<std::string>{MessageLoad::Body(0, 1)});
}

TEST_F(BackupTest, RestoreRefusesANonEmptyDataDirectory) {
  ASSERT_EQ(
      RunServerCommand("backup --data-dir " + server_->data_dir() + " --to " + backup_).exit_code,
      0);
  // The live data directory itself: the most harmful target there is.
  auto restore =
      RunServerCommand("restore --from " + backup_ + " --data-dir " + server_->data_dir());
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.output.find("is not empty"), std::string::npos) << restore.output;
  EXPECT_TRUE(load_.Send(0, 1).ok()) << "the server must be untouched";
}

TEST_F(BackupTest, RestoreRefusesADamagedBackupAndLeavesNothing) {
  ASSERT_EQ(
      RunServerCommand("backup --data-dir " + server_->data_dir() + " --to " + backup_).exit_code,
      0);
  // Flip a byte of the database's MANIFEST-* file.
  std::string victim;
  for (const auto& e : std::filesystem::directory_iterator(backup_ + "/db")) {
    if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  std::string bytes = ReadFile(victim);
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(victim, std::ios::binary | std::ios::trunc) << bytes;

  auto restore = RunServerCommand("restore --from " + backup_ + " --data-dir " + restored_);
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.output.find("has changed since the backup"), std::string::npos)
      << restore.output;
  EXPECT_NE(restore.output.find(std::filesystem::path(victim).filename().string()),
            std::string::npos)
      << restore.output;
  EXPECT_FALSE(std::filesystem::exists(restored_ + "/CURRENT"));
  EXPECT_FALSE(std::filesystem::exists(restored_ + ".audit-key"));
}

TEST_F(BackupTest, RestoreRefusesABackupCutShort) {
  ASSERT_EQ(
      RunServerCommand("backup --data-dir " + server_->data_dir() + " --to " + backup_).exit_code,
      0);
  std::filesystem::remove(backup_ + "/SOTTO-BACKUP");
  auto restore = RunServerCommand("restore --from " + backup_ + " --data-dir " + restored_);
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.output.find("not a complete sotto backup"), std::string::npos)
      << restore.output;
}

}  // namespace
