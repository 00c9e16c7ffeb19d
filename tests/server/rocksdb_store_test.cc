#include "server/storage/rocksdb_store.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/key_codec.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RocksDbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    ASSERT_OK_AND_ASSIGN(store_, OpenRocksDbStore(dir_.path() + "/db"));
  }
  std::vector<std::string> Keys(Table t, const std::string& prefix, const std::string& after = "",
                                size_t limit = 100) {
    std::vector<std::string> keys;
    auto rows = store_->Scan(t, prefix, after, limit);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (rows.ok()) {
      for (const KeyValue& kv : *rows) keys.push_back(kv.key);
    }
    return keys;
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(RocksDbStoreTest, GetReturnsWhatABatchWroteAndNothingElse) {
  WriteBatch batch;
  batch.Put(Table::kAccounts, "alice", "A");
  batch.Put(Table::kDevices, "alice", "D");
  ASSERT_OK(store_->Write(batch, Durability::kSynced));
  ASSERT_OK_AND_ASSIGN(auto a, store_->Get(Table::kAccounts, "alice"));
  ASSERT_OK_AND_ASSIGN(auto d, store_->Get(Table::kDevices, "alice"));
  ASSERT_OK_AND_ASSIGN(auto q, store_->Get(Table::kQueues, "alice"));
  EXPECT_EQ(a, "A");
  EXPECT_EQ(d, "D");  // Tables are separate namespaces.
  EXPECT_FALSE(q.has_value());
}

TEST_F(RocksDbStoreTest, BatchAppliesPutsAndDeletesTogether) {
  WriteBatch first;
  first.Put(Table::kQueues, "k1", "v1");
  first.Put(Table::kQueues, "k2", "v2");
  ASSERT_OK(store_->Write(first, Durability::kSynced));
  WriteBatch second;
  second.Delete(Table::kQueues, "k1");
  second.Put(Table::kQueueMeta, "m", "depth=1");
  ASSERT_OK(store_->Write(second, Durability::kSynced));
  EXPECT_THAT(Keys(Table::kQueues, "k"), ElementsAre("k2"));
  ASSERT_OK_AND_ASSIGN(auto m, store_->Get(Table::kQueueMeta, "m"));
  EXPECT_EQ(m, "depth=1");
}

TEST_F(RocksDbStoreTest, ScanReturnsOnePrefixInKeyOrderAfterStartWithLimit) {
  WriteBatch batch;
  for (uint64_t seq : {300u, 2u, 1u, 70000u}) {
    batch.Put(Table::kQueues, keys::Queue("bob", 1, seq), "x");
  }
  batch.Put(Table::kQueues, keys::Queue("bob", 2, 5), "other device");
  batch.Put(Table::kQueues, keys::Queue("bobby", 1, 5), "other user");
  ASSERT_OK(store_->Write(batch, Durability::kBuffered));

  const std::string prefix = keys::QueuePrefix("bob", 1);
  EXPECT_THAT(Keys(Table::kQueues, prefix),
              ElementsAre(keys::Queue("bob", 1, 1), keys::Queue("bob", 1, 2),
                          keys::Queue("bob", 1, 300), keys::Queue("bob", 1, 70000)));
  EXPECT_THAT(Keys(Table::kQueues, prefix, keys::Queue("bob", 1, 2), 2),
              ElementsAre(keys::Queue("bob", 1, 300), keys::Queue("bob", 1, 70000)));
  EXPECT_THAT(Keys(Table::kQueues, prefix, keys::Queue("bob", 1, 70000)), ElementsAre());
}

TEST_F(RocksDbStoreTest, PopFirstHandsEachEntryToExactlyOneCaller) {
  WriteBatch batch;
  for (uint32_t id = 1; id <= 200; ++id) {
    batch.Put(Table::kPreKeys, keys::OneTimePreKey("bob", 1, id), "pk");
  }
  ASSERT_OK(store_->Write(batch, Durability::kSynced));

  absl::Mutex mu;
  std::vector<std::string> popped;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        auto kv = store_->PopFirst(Table::kPreKeys, keys::OneTimePreKeyPrefix("bob", 1),
                                   Durability::kBuffered);
        ASSERT_TRUE(kv.ok()) << kv.status();
        if (kv->has_value()) {
          absl::MutexLock lock(&mu);
          popped.push_back((*kv)->key);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(popped.size(), 200u);  // 240 attempts, 200 entries
  EXPECT_EQ(std::set<std::string>(popped.begin(), popped.end()).size(), 200u);
  EXPECT_THAT(Keys(Table::kPreKeys, keys::OneTimePreKeyPrefix("bob", 1)), ElementsAre());
}

TEST_F(RocksDbStoreTest, PopFirstOnAnEmptyPrefixReturnsNothing) {
  ASSERT_OK_AND_ASSIGN(auto kv, store_->PopFirst(Table::kPreKeys, "none", Durability::kBuffered));
  EXPECT_FALSE(kv.has_value());
}

TEST_F(RocksDbStoreTest, DataSurvivesReopen) {
  WriteBatch batch;
  batch.Put(Table::kIdempotency, "id", "first");
  ASSERT_OK(store_->Write(batch, Durability::kSynced));
  Reopen();
  ASSERT_OK_AND_ASSIGN(auto v, store_->Get(Table::kIdempotency, "id"));
  EXPECT_EQ(v, "first");
}

// Queue meta is overwritten in place in the memtable where the new value
// fits (rocksdb_store.cc): a shorter value must not read back with the old
// one's tail, a longer one must not be cut, and the log must replay to the
// last value.
TEST_F(RocksDbStoreTest, RewrittenQueueMetaReadsBackExactlyAndSurvivesReopen) {
  const std::vector<std::string> queues = {"alice|1", "bob|1"};
  std::string last[2];
  for (int i = 0; i < 3000; ++i) {
    const size_t q = i % 2;
    // Sizes go up and down: 1..40 bytes, then the counter.
    last[q] = std::string(1 + (i * 7) % 40, static_cast<char>('a' + i % 26)) + std::to_string(i);
    WriteBatch batch;
    batch.Put(Table::kQueueMeta, queues[q], last[q]);
    ASSERT_OK(store_->Write(batch, Durability::kBuffered));
    ASSERT_OK_AND_ASSIGN(auto v, store_->Get(Table::kQueueMeta, queues[q]));
    ASSERT_EQ(v, last[q]) << "after write " << i;
  }
  ASSERT_OK_AND_ASSIGN(auto rows, store_->Scan(Table::kQueueMeta, "", "", 10));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].value, last[0]);
  EXPECT_EQ(rows[1].value, last[1]);

  ASSERT_OK(store_->SyncLog());
  Reopen();
  for (size_t q = 0; q < 2; ++q) {
    ASSERT_OK_AND_ASSIGN(auto v, store_->Get(Table::kQueueMeta, queues[q]));
    EXPECT_EQ(v, last[q]);
  }
  // A value of 128+ bytes (two-byte length prefix) overwritten by a shorter
  // one (one-byte prefix), and read back exactly.
  for (size_t size : {300u, 200u, 127u, 5u}) {
    WriteBatch batch;
    batch.Put(Table::kQueueMeta, queues[1], std::string(size, 'z'));
    ASSERT_OK(store_->Write(batch, Durability::kBuffered));
    ASSERT_OK_AND_ASSIGN(auto v, store_->Get(Table::kQueueMeta, queues[1]));
    EXPECT_EQ(v, std::string(size, 'z'));
  }

  WriteBatch erase;
  erase.Delete(Table::kQueueMeta, queues[0]);
  ASSERT_OK(store_->Write(erase, Durability::kSynced));
  ASSERT_OK_AND_ASSIGN(auto gone, store_->Get(Table::kQueueMeta, queues[0]));
  EXPECT_FALSE(gone.has_value());
}

// The database's own record of its options (OPTIONS-*, which RocksDB writes
// at every open) says queue meta, and only queue meta, is updated in place.
TEST_F(RocksDbStoreTest, OnlyQueueMetaIsUpdatedInPlace) {
  std::string latest;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() + "/db")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && name > latest) latest = name;
  }
  ASSERT_FALSE(latest.empty());
  std::ifstream in(dir_.path() + "/db/" + latest);
  std::string line, family;
  std::set<std::string> in_place;
  while (std::getline(in, line)) {
    if (line.rfind("[CFOptions \"", 0) == 0) {
      family = line.substr(12, line.find('"', 12) - 12);
    } else if (line.find("inplace_update_support=true") != std::string::npos) {
      in_place.insert(family);
    }
  }
  EXPECT_EQ(in_place, std::set<std::string>{"queue_meta"});
}

TEST_F(RocksDbStoreTest, SecondOpenOfALockedDatabaseFailsNamingThePath) {
  auto second = OpenRocksDbStore(dir_.path() + "/db");
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(dir_.path())));
}

TEST_F(RocksDbStoreTest, UnusableDataDirFails) {
  auto store = OpenRocksDbStore("/proc/sotto-cannot-exist/db");
  EXPECT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("/proc/sotto-cannot-exist"));
}

}  // namespace
}  // namespace sotto::server
