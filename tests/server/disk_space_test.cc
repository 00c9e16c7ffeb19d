// The free-space reserve over real RocksDB, with free space injected
// (DiskSpaceOptions::free_bytes_source): below the reserve writes that add
// data are refused with RESOURCE_EXHAUSTED and a sentence without paths,
// writes that free space pass, bursts between polls are charged, the ballast
// is given back under half the reserve and made again once there is room.
#include "server/storage/disk_space.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "server/storage/rocksdb_store.h"
#include "server/storage/space_guard_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class DiskSpaceTest : public ::testing::Test {
 protected:
  void Start(uint64_t min_free, uint64_t ballast) {
    DiskSpaceOptions options;
    options.dir = dir_.sub("db");
    options.min_free_bytes = min_free;
    options.ballast_bytes = ballast;
    // Polled by hand (Poll) in these tests.
    options.poll_interval = absl::Hours(1);
    options.free_bytes_source = [this]() -> absl::StatusOr<uint64_t> { return free_.load(); };
    ASSERT_OK_AND_ASSIGN(space_, DiskSpace::Start(options));
    ASSERT_OK_AND_ASSIGN(rocks_, OpenRocksDbStore(dir_.sub("db")));
    guard_ = std::make_unique<SpaceGuardStore>(rocks_.get(), space_.get());
  }
  absl::Status PutMessage(const std::string& key, size_t bytes = 100) {
    WriteBatch batch;
    batch.Put(Table::kQueues, key, std::string(bytes, 'x'));
    return guard_->Write(batch, Durability::kBuffered);
  }
  bool BallastOnDisk() const {
    return std::filesystem::exists(dir_.sub("db") + "/" + kBallastFileName);
  }

  sotto::testing::TempDir dir_;
  std::atomic<uint64_t> free_{1024 * kMiB};
  std::unique_ptr<DiskSpace> space_;
  std::unique_ptr<Store> rocks_;
  std::unique_ptr<SpaceGuardStore> guard_;
};

TEST_F(DiskSpaceTest, BelowTheReserveWritesThatAddDataAreRefusedWithoutAPath) {
  Start(64 * kMiB, 0);
  ASSERT_OK(PutMessage("a"));
  free_ = 10 * kMiB;
  space_->Poll();
  const absl::Status refused = PutMessage("b");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_NE(refused.message().find("out of storage"), absl::string_view::npos) << refused;
  EXPECT_EQ(refused.message().find('/'), absl::string_view::npos) << refused;
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> b, guard_->Get(Table::kQueues, "b"));
  EXPECT_FALSE(b.has_value()) << "a refused write must store nothing";

  free_ = 100 * kMiB;
  space_->Poll();
  EXPECT_OK(PutMessage("b"));
}

TEST_F(DiskSpaceTest, WritesThatFreeSpacePassBelowTheReserve) {
  Start(64 * kMiB, 0);
  ASSERT_OK(PutMessage("a"));
  free_ = 1 * kMiB;
  space_->Poll();
  WriteBatch ack;
  ack.Delete(Table::kQueues, "a");
  ack.MarkFreesSpace();
  EXPECT_OK(guard_->Write(ack, Durability::kSynced));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> a, guard_->Get(Table::kQueues, "a"));
  EXPECT_FALSE(a.has_value());
}

TEST_F(DiskSpaceTest, ABurstBetweenPollsIsChargedAgainstTheReserve) {
  Start(64 * kMiB, 0);
  free_ = 65 * kMiB;
  space_->Poll();
  int accepted = 0;
  while (PutMessage("k" + std::to_string(accepted), 64 << 10).ok() && accepted < 1000) ++accepted;
  // 1 MiB above the reserve holds about 16 writes of 64 KiB, not 1000.
  EXPECT_GE(accepted, 10);
  EXPECT_LE(accepted, 17);
  EXPECT_TRUE(space_->Low());
}

// A memtable's worth of messages is still to be written to disk by the next
// flush; a flush that finds no room stops every write, Acks too. So it counts
// as used: 6 MiB above the reserve with 8 MiB in memory is below it.
TEST_F(DiskSpaceTest, WhatTheNextFlushWillWriteCountsAgainstTheReserve) {
  Start(64 * kMiB, 0);
  space_->CountUnflushed([this] { return rocks_->UnflushedBytes(); });
  for (int i = 0; i < 128; ++i) ASSERT_OK(PutMessage("m" + std::to_string(i), 64 << 10));
  EXPECT_GE(rocks_->UnflushedBytes(), 8 * kMiB);
  free_ = 70 * kMiB;
  space_->Poll();
  EXPECT_TRUE(space_->Low()) << "free after the flush: " << space_->free_bytes();
  EXPECT_LE(space_->free_bytes(), 62 * kMiB);
  EXPECT_EQ(PutMessage("more").code(), absl::StatusCode::kResourceExhausted);

  free_ = 80 * kMiB;
  space_->Poll();
  EXPECT_FALSE(space_->Low()) << "free after the flush: " << space_->free_bytes();
  EXPECT_OK(PutMessage("more"));
}

TEST_F(DiskSpaceTest, BallastIsGivenBackUnderHalfTheReserveAndMadeAgainWithRoom) {
  Start(8 * kMiB, 2 * kMiB);
  EXPECT_TRUE(space_->ballast_held());
  EXPECT_TRUE(BallastOnDisk());
  EXPECT_EQ(std::filesystem::file_size(dir_.sub("db") + "/" + kBallastFileName), 2 * kMiB);

  free_ = 5 * kMiB;  // under the reserve, over half of it: kept
  space_->Poll();
  EXPECT_TRUE(space_->Low());
  EXPECT_TRUE(BallastOnDisk());

  free_ = 3 * kMiB;  // under half: given back
  space_->Poll();
  EXPECT_FALSE(space_->ballast_held());
  EXPECT_FALSE(BallastOnDisk());

  free_ = 9 * kMiB;  // over the reserve, not room for the ballast too
  space_->Poll();
  EXPECT_FALSE(space_->Low());
  EXPECT_FALSE(BallastOnDisk());

  free_ = 11 * kMiB;
  space_->Poll();
  EXPECT_TRUE(BallastOnDisk());
}

TEST_F(DiskSpaceTest, StartingShortOfSpaceGivesTheBallastBackBeforeAnythingOpens) {
  Start(8 * kMiB, 2 * kMiB);
  ASSERT_TRUE(BallastOnDisk());
  guard_.reset();
  rocks_.reset();
  space_.reset();
  EXPECT_TRUE(BallastOnDisk()) << "the ballast stays for the next start";
  free_ = 1 * kMiB;
  Start(8 * kMiB, 2 * kMiB);
  EXPECT_FALSE(BallastOnDisk());
  EXPECT_TRUE(space_->Low());
  EXPECT_EQ(PutMessage("x").code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(DiskSpaceTest, NoReserveNeverRefuses) {
  Start(0, 0);
  free_ = 0;
  space_->Poll();
  EXPECT_FALSE(space_->Low());
  EXPECT_OK(PutMessage("a"));
}

}  // namespace
}  // namespace sotto::server
