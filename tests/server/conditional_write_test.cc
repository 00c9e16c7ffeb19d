// Conditional writes (WriteBatch::Expect), the storage contract's part that
// keeps a read-modify-write correct when several sotto-server processes
// share one database (issue 17). Run against RocksDB in a temporary
// directory and a real PostgreSQL; on PostgreSQL the racers use two stores
// (two "nodes", each with its own connections) on one database.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/postgres_store.h"
#include "server/storage/rocksdb_store.h"
#include "testing/postgres_instance.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::IsOkAndHolds;
using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Optional;

// One process's RocksDB: both "nodes" are the same store.
struct RocksDbBackend {
  absl::Status SetUp() {
    absl::StatusOr<std::unique_ptr<Store>> opened = OpenRocksDbStore(dir.sub("db"));
    if (!opened.ok()) return opened.status();
    first = *std::move(opened);
    return absl::OkStatus();
  }
  Store* second() { return first.get(); }
  sotto::testing::TempDir dir;
  std::unique_ptr<Store> first;
};

// Two stores on one real PostgreSQL: what two sotto-server nodes hold.
struct PostgresBackend {
  absl::Status SetUp() {
    absl::StatusOr<std::unique_ptr<sotto::testing::PostgresInstance>> started =
        sotto::testing::PostgresInstance::Start();
    if (!started.ok()) return started.status();
    pg = *std::move(started);
    for (std::unique_ptr<Store>* store : {&first, &other}) {
      absl::StatusOr<std::unique_ptr<Store>> opened = OpenPostgresStore(pg->url());
      if (!opened.ok()) return opened.status();
      *store = *std::move(opened);
    }
    return absl::OkStatus();
  }
  Store* second() { return other.get(); }
  std::unique_ptr<sotto::testing::PostgresInstance> pg;
  std::unique_ptr<Store> first;
  std::unique_ptr<Store> other;
};

template <typename Backend>
class ConditionalWriteTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(backend_.SetUp()); }
  Store& store() { return *backend_.first; }
  // Alternates between the two nodes.
  Store& node(int i) { return i % 2 == 0 ? *backend_.first : *backend_.second(); }

  void Put(Table table, const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.Put(table, key, value);
    ASSERT_OK(store().Write(batch, Durability::kBuffered));
  }

  Backend backend_;
};

using Backends = ::testing::Types<RocksDbBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, RocksDbBackend> ? "RocksDB" : "PostgreSQL";
  }
};
TYPED_TEST_SUITE(ConditionalWriteTest, Backends, BackendNames);

TYPED_TEST(ConditionalWriteTest, WritesWhenTheExpectedValueHolds) {
  this->Put(Table::kQueueMeta, "bob.1", "next=7");
  WriteBatch batch;
  batch.Expect(Table::kQueueMeta, "bob.1", "next=7");
  batch.Put(Table::kQueueMeta, "bob.1", "next=8");
  batch.Put(Table::kQueues, "bob.1.7", "envelope");
  ASSERT_OK(this->store().Write(batch, Durability::kSynced));
  EXPECT_THAT(this->store().Get(Table::kQueueMeta, "bob.1"),
              IsOkAndHolds(Optional(std::string("next=8"))));
  EXPECT_THAT(this->store().Get(Table::kQueues, "bob.1.7"),
              IsOkAndHolds(Optional(std::string("envelope"))));
}

TYPED_TEST(ConditionalWriteTest, WritesNothingWhenAValueDiffersAndNamesTheKey) {
  this->Put(Table::kQueueMeta, "bob.1", "next=8");
  WriteBatch batch;
  batch.Put(Table::kQueues, "bob.1.7", "envelope");  // before the expectation: still not written
  batch.Expect(Table::kQueueMeta, "bob.1", "next=7");
  batch.Put(Table::kQueueMeta, "bob.1", "next=8");
  EXPECT_THAT(this->store().Write(batch, Durability::kSynced),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("queue_meta"), HasSubstr("bob.1"))));
  EXPECT_THAT(this->store().Get(Table::kQueues, "bob.1.7"), IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(this->store().Get(Table::kQueueMeta, "bob.1"),
              IsOkAndHolds(Optional(std::string("next=8"))));
}

TYPED_TEST(ConditionalWriteTest, ExpectedAbsenceHoldsOnlyWhileNothingIsStored) {
  WriteBatch create;
  create.Expect(Table::kAccounts, "carol", std::nullopt);
  create.Put(Table::kAccounts, "carol", "first");
  ASSERT_OK(this->store().Write(create, Durability::kSynced));
  EXPECT_THAT(this->store().Get(Table::kAccounts, "carol"),
              IsOkAndHolds(Optional(std::string("first"))));

  WriteBatch again;
  again.Expect(Table::kAccounts, "carol", std::nullopt);
  again.Put(Table::kAccounts, "carol", "second");
  EXPECT_THAT(this->store().Write(again, Durability::kSynced),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("accounts")));
  EXPECT_THAT(this->store().Get(Table::kAccounts, "carol"),
              IsOkAndHolds(Optional(std::string("first"))));

  // An empty value is a value: absence is not expected of it.
  this->Put(Table::kDevices, "carol.1", "");
  WriteBatch empty;
  empty.Expect(Table::kDevices, "carol.1", std::nullopt);
  EXPECT_THAT(this->store().Write(empty, Durability::kBuffered),
              StatusIs(absl::StatusCode::kAborted));
  // A value expected where there is none.
  WriteBatch missing;
  missing.Expect(Table::kDevices, "carol.2", "x");
  missing.Put(Table::kDevices, "carol.2", "y");
  EXPECT_THAT(this->store().Write(missing, Durability::kBuffered),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("absent")));
  EXPECT_THAT(this->store().Get(Table::kDevices, "carol.2"), IsOkAndHolds(Eq(std::nullopt)));
}

TYPED_TEST(ConditionalWriteTest, ExpectingAbsenceOfAKeyNotWrittenLeavesItAbsent) {
  WriteBatch batch;
  batch.Expect(Table::kInvites, "code", std::nullopt);
  batch.Put(Table::kLinks, "t.c", "link");
  ASSERT_OK(this->store().Write(batch, Durability::kSynced));
  EXPECT_THAT(this->store().Get(Table::kInvites, "code"), IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(this->store().Scan(Table::kInvites, "", "", 10),
              IsOkAndHolds(::testing::IsEmpty()));
  // And the same expectation holds again.
  WriteBatch again;
  again.Expect(Table::kInvites, "code", std::nullopt);
  again.Put(Table::kInvites, "code", "made");
  EXPECT_OK(this->store().Write(again, Durability::kSynced));
  // Deleting an expected key is a write of it.
  WriteBatch use;
  use.Expect(Table::kInvites, "code", "made");
  use.Delete(Table::kInvites, "code");
  EXPECT_OK(this->store().Write(use, Durability::kSynced));
  EXPECT_THAT(this->store().Get(Table::kInvites, "code"), IsOkAndHolds(Eq(std::nullopt)));
}

TYPED_TEST(ConditionalWriteTest, OneKeyExpectedTwiceIsCheckedOnce) {
  WriteBatch twice;
  twice.Expect(Table::kAccounts, "dave", std::nullopt);
  twice.Expect(Table::kAccounts, "dave", std::nullopt);
  twice.Put(Table::kAccounts, "dave", "v");
  ASSERT_OK(this->store().Write(twice, Durability::kBuffered));
  WriteBatch contradicting;
  contradicting.Expect(Table::kAccounts, "dave", "v");
  contradicting.Expect(Table::kAccounts, "dave", "w");
  contradicting.Put(Table::kAccounts, "dave", "x");
  EXPECT_THAT(this->store().Write(contradicting, Durability::kBuffered),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(this->store().Get(Table::kAccounts, "dave"),
              IsOkAndHolds(Optional(std::string("v"))));
}

// Racers that all expect a key absent, through both nodes, released at
// once: exactly one creates it, and its value is the one stored.
TYPED_TEST(ConditionalWriteTest, ConcurrentCreatorsOfOneKeyExactlyOneWins) {
  constexpr int kRacers = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = absl::StrCat("handle", round);
    absl::Barrier start(kRacers);
    std::vector<absl::Status> results(kRacers);
    std::vector<std::thread> racers;
    for (int i = 0; i < kRacers; ++i) {
      racers.emplace_back([&, i] {
        WriteBatch batch;
        batch.Expect(Table::kAccounts, key, std::nullopt);
        batch.Put(Table::kAccounts, key, absl::StrCat("racer", i));
        batch.Put(Table::kDevices, absl::StrCat(key, ".", i), "device");
        start.Block();
        results[i] = this->node(i).Write(batch, Durability::kSynced);
      });
    }
    for (std::thread& t : racers) t.join();
    int winner = -1;
    for (int i = 0; i < kRacers; ++i) {
      if (results[i].ok()) {
        ASSERT_EQ(winner, -1) << "round " << round << ": racers " << winner << " and " << i
                              << " both created " << key;
        winner = i;
      } else {
        EXPECT_THAT(results[i], StatusIs(absl::StatusCode::kAborted));
      }
    }
    ASSERT_NE(winner, -1) << "round " << round << ": nobody created " << key;
    EXPECT_THAT(this->store().Get(Table::kAccounts, key),
                IsOkAndHolds(Optional(absl::StrCat("racer", winner))));
    // The losers' other puts went nowhere.
    ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> devices,
                         this->store().Scan(Table::kDevices, absl::StrCat(key, "."), "", 100));
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].key, absl::StrCat(key, ".", winner));
  }
}

// Read, expect, write, retry on ABORTED: a counter bumped by racers on both
// nodes loses no increment (a lost update is what two nodes' in-process
// locks could not prevent).
TYPED_TEST(ConditionalWriteTest, ReadExpectWriteRetryLosesNoUpdate) {
  constexpr int kRacers = 6;
  constexpr int kBumps = 40;
  this->Put(Table::kQueueMeta, "counter", "0");
  std::atomic<int> aborted{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      Store& store = this->node(i);
      for (int n = 0; n < kBumps; ++n) {
        while (true) {
          absl::StatusOr<std::optional<std::string>> read = store.Get(Table::kQueueMeta, "counter");
          ASSERT_OK(read.status());
          ASSERT_TRUE(read->has_value());
          WriteBatch batch;
          batch.Expect(Table::kQueueMeta, "counter", **read);
          batch.Put(Table::kQueueMeta, "counter", std::to_string(std::stoi(**read) + 1));
          absl::Status written = store.Write(batch, Durability::kBuffered);
          if (written.ok()) break;
          ASSERT_THAT(written, StatusIs(absl::StatusCode::kAborted));
          ++aborted;
        }
      }
    });
  }
  for (std::thread& t : racers) t.join();
  EXPECT_THAT(this->store().Get(Table::kQueueMeta, "counter"),
              IsOkAndHolds(Optional(std::to_string(kRacers * kBumps))))
      << aborted << " attempts were aborted and retried";
}

}  // namespace
}  // namespace sotto::server
