// The in-memory cache of rarely written tables over real RocksDB: a read
// that begins after a write returned sees that write — through Get and
// Scan, for puts, overwrites, deletes and pops, under concurrent writers —
// and uncached tables read straight through.
#include "server/storage/caching_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/rocksdb_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

class CachingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> rocks, OpenRocksDbStore(dir_.path() + "/db"));
    store_ = std::make_unique<CachingStore>(std::move(rocks),
                                            std::vector<Table>{Table::kAccounts, Table::kDevices},
                                            /*max_entries=*/8);
  }
  void Put(Table t, const std::string& k, const std::string& v) {
    WriteBatch b;
    b.Put(t, k, v);
    ASSERT_OK(store_->Write(b, Durability::kBuffered));
  }
  void Delete(Table t, const std::string& k) {
    WriteBatch b;
    b.Delete(t, k);
    ASSERT_OK(store_->Write(b, Durability::kSynced));
  }
  std::optional<std::string> Get(Table t, const std::string& k) {
    auto v = store_->Get(t, k);
    EXPECT_OK(v.status());
    return v.ok() ? *v : std::nullopt;
  }
  std::vector<std::string> ScanValues(Table t, const std::string& prefix) {
    std::vector<std::string> values;
    auto rows = store_->Scan(t, prefix, "", 100);
    EXPECT_OK(rows.status());
    if (rows.ok()) {
      for (const KeyValue& kv : *rows) values.push_back(kv.value);
    }
    return values;
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<CachingStore> store_;
};

TEST_F(CachingStoreTest, ReadsAfterAWriteSeeItThroughGetAndScan) {
  EXPECT_EQ(Get(Table::kAccounts, "ana"), std::nullopt);  // a cached miss...
  EXPECT_THAT(ScanValues(Table::kDevices, "ana|"), ::testing::IsEmpty());
  Put(Table::kAccounts, "ana", "v1");  // ...that a put replaces
  WriteBatch devices;
  devices.Put(Table::kDevices, "ana|1", "d1");
  devices.Put(Table::kDevices, "ana|2", "d2");
  ASSERT_OK(store_->Write(devices, Durability::kSynced));
  EXPECT_THAT(Get(Table::kAccounts, "ana"), Optional(std::string("v1")));
  EXPECT_THAT(ScanValues(Table::kDevices, "ana|"), ElementsAre("d1", "d2"));

  Put(Table::kAccounts, "ana", "v2");
  Delete(Table::kDevices, "ana|1");
  EXPECT_THAT(Get(Table::kAccounts, "ana"), Optional(std::string("v2")));
  EXPECT_THAT(ScanValues(Table::kDevices, "ana|"), ElementsAre("d2"));
  Delete(Table::kAccounts, "ana");
  EXPECT_EQ(Get(Table::kAccounts, "ana"), std::nullopt);
}

TEST_F(CachingStoreTest, PopFirstAndUncachedTablesStayExact) {
  Put(Table::kDevices, "bo|1", "x");
  EXPECT_THAT(ScanValues(Table::kDevices, "bo|"), ElementsAre("x"));
  ASSERT_OK_AND_ASSIGN(auto popped, store_->PopFirst(Table::kDevices, "bo|", Durability::kSynced));
  ASSERT_TRUE(popped.has_value());
  EXPECT_THAT(ScanValues(Table::kDevices, "bo|"), ::testing::IsEmpty());

  Put(Table::kQueueMeta, "q", "1");
  EXPECT_THAT(Get(Table::kQueueMeta, "q"), Optional(std::string("1")));
  Put(Table::kQueueMeta, "q", "2");
  EXPECT_THAT(Get(Table::kQueueMeta, "q"), Optional(std::string("2")));
}

TEST_F(CachingStoreTest, MoreKeysThanTheCapStillReadCorrectly) {
  for (int i = 0; i < 50; ++i) Put(Table::kAccounts, absl::StrCat("user-", i), absl::StrCat(i));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 50; ++i) {
      EXPECT_THAT(Get(Table::kAccounts, absl::StrCat("user-", i)), Optional(absl::StrCat(i)));
    }
  }
}

// Counts the reads that reach the store below the cache.
class CountingStore final : public ForwardingStore {
 public:
  explicit CountingStore(std::unique_ptr<Store> inner)
      : ForwardingStore(inner.get()), owned_(std::move(inner)) {}
  absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) override {
    ++reads;
    return ForwardingStore::Get(table, key);
  }
  absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                             absl::string_view start_after, size_t limit) override {
    ++reads;
    return ForwardingStore::Scan(table, prefix, start_after, limit);
  }
  std::atomic<int> reads{0};

 private:
  const std::unique_ptr<Store> owned_;
};

// Anyone can make the server look up handles that do not exist (a failed
// sign-in): a flood of such misses must not push the records every Send
// reads out of the cache.
TEST(CachingStoreMissesTest, AFloodOfMissesDoesNotEvictWhatWasFound) {
  sotto::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> rocks, OpenRocksDbStore(dir.path() + "/db"));
  auto counting = std::make_unique<CountingStore>(std::move(rocks));
  CountingStore* below = counting.get();
  CachingStore store(std::move(counting), {Table::kAccounts, Table::kDevices},
                     /*max_entries=*/8);
  WriteBatch batch;
  for (int i = 0; i < 4; ++i) {
    batch.Put(Table::kAccounts, absl::StrCat("known-", i), "account");
    batch.Put(Table::kDevices, absl::StrCat("known-", i, "|1"), "device");
  }
  ASSERT_OK(store.Write(batch, Durability::kBuffered));
  auto read_known = [&] {
    for (int i = 0; i < 4; ++i) {
      EXPECT_THAT(*store.Get(Table::kAccounts, absl::StrCat("known-", i)),
                  Optional(std::string("account")));
      EXPECT_EQ(store.Scan(Table::kDevices, absl::StrCat("known-", i, "|"), "", 16)->size(), 1u);
    }
  };
  read_known();
  const int after_first = below->reads.load();
  EXPECT_EQ(after_first, 8);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(*store.Get(Table::kAccounts, absl::StrCat("stranger-", i)), std::nullopt);
    EXPECT_TRUE(store.Scan(Table::kDevices, absl::StrCat("stranger-", i, "|"), "", 16)->empty());
  }
  const int after_flood = below->reads.load();
  read_known();
  EXPECT_EQ(below->reads.load(), after_flood) << "the known records were read again";
  // A repeated miss is answered from the cache too (until its cap).
  EXPECT_EQ(*store.Get(Table::kAccounts, "stranger-999"), std::nullopt);
  EXPECT_EQ(below->reads.load(), after_flood);
}

// A writer counts up; readers check that what they read is never older than
// the last write that had returned when their read began.
TEST_F(CachingStoreTest, ConcurrentReadersNeverSeeAValueOlderThanACompletedWrite) {
  constexpr int kWrites = 2000;
  std::atomic<int> completed{0};
  std::atomic<bool> stale{false};
  Put(Table::kAccounts, "counter", "0");
  std::thread writer([&] {
    for (int i = 1; i <= kWrites; ++i) {
      WriteBatch b;
      b.Put(Table::kAccounts, "counter", absl::StrCat(i));
      ASSERT_OK(store_->Write(b, Durability::kBuffered));
      completed = i;
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (completed.load() < kWrites) {
        const int floor = completed.load();
        auto v = store_->Get(Table::kAccounts, "counter");
        int seen = -1;
        if (!v.ok() || !v->has_value() || !absl::SimpleAtoi(**v, &seen) || seen < floor) {
          stale = true;
          return;
        }
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_FALSE(stale.load());
  EXPECT_THAT(Get(Table::kAccounts, "counter"), Optional(absl::StrCat(kWrites)));
}

}  // namespace
}  // namespace sotto::server
