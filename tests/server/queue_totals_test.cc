// SumQueues over real RocksDB: the totals the metrics endpoint exports.

#include "server/domain/queue_totals.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "server/storage/rocksdb_store.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

class QueueTotalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenRocksDbStore(dir_.sub("db"));
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  // Queue counters for `devices` devices; device i holds i % 5 envelopes of
  // 100 bytes each.
  void WriteQueues(int devices) {
    WriteBatch batch;
    for (int i = 0; i < devices; ++i) {
      records::QueueMeta meta;
      meta.depth = static_cast<uint64_t>(i % 5);
      meta.bytes = meta.depth * 100;
      meta.next_seq = meta.depth + 1;
      batch.Put(Table::kQueueMeta, keys::QueueMeta(absl::StrCat("user", i), 1),
                records::Encode(meta));
    }
    ASSERT_TRUE(store_->Write(batch, Durability::kSynced).ok());
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(QueueTotalsTest, EmptyStoreWaitsForNothing) {
  absl::StatusOr<QueueTotals> totals = SumQueues(store_.get());
  ASSERT_TRUE(totals.ok()) << totals.status();
  EXPECT_EQ(totals->envelopes, 0u);
  EXPECT_EQ(totals->queues_waiting, 0u);
}

TEST_F(QueueTotalsTest, SumsEveryQueueAcrossPages) {
  // 10,000 devices: ten pages of the scan. Also the cost the docs quote.
  constexpr int kDevices = 10000;
  WriteQueues(kDevices);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<QueueTotals> totals = SumQueues(store_.get());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(totals.ok()) << totals.status();
  // Depths 0,1,2,3,4 repeating: 2,000 of each.
  EXPECT_EQ(totals->envelopes, 2000u * (0 + 1 + 2 + 3 + 4));
  EXPECT_EQ(totals->bytes, totals->envelopes * 100);
  EXPECT_EQ(totals->queues_waiting, 8000u);
  EXPECT_EQ(totals->deepest, 4u);
  std::printf("SumQueues over %d devices: %.1f ms\n", kDevices, ms);
}

}  // namespace
}  // namespace sotto::server
