// The Store contract (server/storage/store.h), one suite run against every
// implementation: RocksDB in a temporary directory and a real PostgreSQL
// (tests/testing/postgres_instance.h). Whatever the domain code may rely on
// is pinned here once, so a backend cannot quietly differ.

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/log_syncer.h"
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
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

struct RocksDbBackend {
  absl::Status SetUp() { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Store>> Open() { return OpenRocksDbStore(dir.sub("db")); }
  // A place no store opens, and what its error must name.
  absl::StatusOr<std::unique_ptr<Store>> OpenUnusable(std::string* named) {
    const std::string file = dir.sub("a-file");
    std::ofstream(file) << "x";
    *named = file + "/db";
    return OpenRocksDbStore(*named);
  }
  sotto::testing::TempDir dir;
};

struct PostgresBackend {
  absl::Status SetUp() {
    absl::StatusOr<std::unique_ptr<sotto::testing::PostgresInstance>> started =
        sotto::testing::PostgresInstance::Start();
    if (!started.ok()) return started.status();
    pg = *std::move(started);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Store>> Open() { return OpenPostgresStore(pg->url()); }
  // A database that does not exist on the real server (a port nothing
  // listens on cannot be had reliably), with a password not to repeat.
  absl::StatusOr<std::unique_ptr<Store>> OpenUnusable(std::string* named) {
    *named = absl::StrCat("127.0.0.1:", pg->port(), "/no_such_db");
    return OpenPostgresStore(
        absl::StrCat("postgres://sotto:hunter2@127.0.0.1:", pg->port(), "/no_such_db"));
  }
  std::unique_ptr<sotto::testing::PostgresInstance> pg;
};

template <typename Backend>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(backend_.SetUp());
    ASSERT_OK_AND_ASSIGN(store_, backend_.Open());
  }

  void Put(Table table, const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.Put(table, key, value);
    ASSERT_OK(store_->Write(batch, Durability::kBuffered));
  }
  // The keys of a Scan, or the error as a string.
  std::vector<std::string> Keys(Table table, const std::string& prefix,
                                const std::string& start_after = "", size_t limit = 1000) {
    absl::StatusOr<std::vector<KeyValue>> kvs = store_->Scan(table, prefix, start_after, limit);
    if (!kvs.ok()) return {kvs.status().ToString()};
    std::vector<std::string> keys;
    for (const KeyValue& kv : *kvs) keys.push_back(kv.key);
    return keys;
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<RocksDbBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, RocksDbBackend> ? "RocksDB" : "PostgreSQL";
  }
};
TYPED_TEST_SUITE(StoreConformanceTest, Backends, BackendNames);

TYPED_TEST(StoreConformanceTest, GetSeesPutsOverwritesAndDeletes) {
  Store& store = *this->store_;
  EXPECT_THAT(store.Get(Table::kAccounts, "alice"), IsOkAndHolds(Eq(std::nullopt)));
  this->Put(Table::kAccounts, "alice", "v1");
  EXPECT_THAT(store.Get(Table::kAccounts, "alice"), IsOkAndHolds(Optional(std::string("v1"))));
  this->Put(Table::kAccounts, "alice", "v2");
  EXPECT_THAT(store.Get(Table::kAccounts, "alice"), IsOkAndHolds(Optional(std::string("v2"))));
  // Tables are apart: the same key elsewhere is another record.
  EXPECT_THAT(store.Get(Table::kDevices, "alice"), IsOkAndHolds(Eq(std::nullopt)));
  // An empty value is a value, not an absence.
  this->Put(Table::kDevices, "alice", "");
  EXPECT_THAT(store.Get(Table::kDevices, "alice"), IsOkAndHolds(Optional(std::string())));
  WriteBatch del;
  del.Delete(Table::kAccounts, "alice");
  del.Delete(Table::kAccounts, "never-there");  // deleting nothing is fine
  ASSERT_OK(store.Write(del, Durability::kSynced));
  EXPECT_THAT(store.Get(Table::kAccounts, "alice"), IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(store.Get(Table::kDevices, "alice"), IsOkAndHolds(Optional(std::string())));
}

TYPED_TEST(StoreConformanceTest, BatchAppliesItsOpsInOrder) {
  WriteBatch batch;
  batch.Put(Table::kQueues, "k1", "first");
  batch.Delete(Table::kQueues, "k1");
  batch.Put(Table::kQueues, "k2", "first");
  batch.Put(Table::kQueues, "k2", "second");
  batch.Put(Table::kQueueMeta, "k1", "meta");
  ASSERT_OK(this->store_->Write(batch, Durability::kSynced));
  EXPECT_THAT(this->store_->Get(Table::kQueues, "k1"), IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(this->store_->Get(Table::kQueues, "k2"),
              IsOkAndHolds(Optional(std::string("second"))));
  EXPECT_THAT(this->store_->Get(Table::kQueueMeta, "k1"),
              IsOkAndHolds(Optional(std::string("meta"))));
}

// A reader never sees half a batch: a writer rewrites two keys together,
// and every scan (a snapshot) finds them equal.
TYPED_TEST(StoreConformanceTest, ReadersNeverSeeHalfABatch) {
  Store& store = *this->store_;
  this->Put(Table::kQueues, "pair/a", "0");
  this->Put(Table::kQueues, "pair/b", "0");
  std::atomic<bool> done{false};
  absl::Status written;
  std::thread writer([&] {
    for (int i = 1; i <= 300 && written.ok(); ++i) {
      WriteBatch batch;
      batch.Put(Table::kQueues, "pair/a", std::to_string(i));
      batch.Put(Table::kQueues, "pair/b", std::to_string(i));
      written = store.Write(batch, Durability::kBuffered);
    }
    done = true;
  });
  int scans = 0;
  while (!done || scans == 0) {
    absl::StatusOr<std::vector<KeyValue>> kvs = store.Scan(Table::kQueues, "pair/", "", 10);
    if (!kvs.ok() || kvs->size() != 2 || (*kvs)[0].value != (*kvs)[1].value) {
      ADD_FAILURE() << "scan " << scans << " saw half a batch or failed";
      break;
    }
    ++scans;
  }
  writer.join();
  ASSERT_OK(written);
  EXPECT_THAT(store.Get(Table::kQueues, "pair/b"), IsOkAndHolds(Optional(std::string("300"))));
}

// Keys are bytes, ordered bytewise (unsigned), 0x00 and 0xff included;
// a prefix range ends exactly where the prefix does.
TYPED_TEST(StoreConformanceTest, ScanOrdersBinaryKeysBytewiseWithinThePrefix) {
  const std::string p("p\xff", 2);
  const std::vector<std::string> inside = {p,
                                           p + std::string("\x00", 1),
                                           p + std::string("\x00\x00", 2),
                                           p + "\x01",
                                           p + "A",
                                           p + "\x7f",
                                           p + "\x80",
                                           p + "\xfe",
                                           p + "\xff",
                                           p + "\xff\xff",
                                           p + std::string("\xff\xff\x00", 3),
                                           p + "\xff\xff\xff"};
  const std::vector<std::string> outside = {
      "p", std::string("p\xfe\xff", 3), "q", std::string("\x00", 1), "\xff", "o\xff\xff"};
  // Written in an order that is not the sorted one.
  for (auto it = inside.rbegin(); it != inside.rend(); ++it) this->Put(Table::kPreKeys, *it, *it);
  for (const std::string& k : outside) this->Put(Table::kPreKeys, k, k);

  EXPECT_THAT(this->Keys(Table::kPreKeys, p), ElementsAreArray(inside));
  // A prefix of 0xff bytes has no upper end to compute: still exact.
  EXPECT_THAT(this->Keys(Table::kPreKeys, "\xff"), ElementsAre("\xff"));
  EXPECT_THAT(this->Keys(Table::kPreKeys, p + "\xff\xff"),
              ElementsAre(p + "\xff\xff", std::string(p + "\xff\xff") + std::string("\x00", 1),
                          p + "\xff\xff\xff"));
  // The empty prefix is the whole table, in order.
  std::vector<std::string> all = inside;
  all.insert(all.end(), outside.begin(), outside.end());
  std::sort(all.begin(), all.end());  // std::string compares as unsigned bytes
  EXPECT_THAT(this->Keys(Table::kPreKeys, ""), ElementsAreArray(all));
  ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> kvs, this->store_->Scan(Table::kPreKeys, p, "", 100));
  for (const KeyValue& kv : kvs) EXPECT_EQ(kv.value, kv.key);
}

TYPED_TEST(StoreConformanceTest, ScanPagesWithStartAfterAndLimit) {
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(absl::StrCat("q/", std::string(1, static_cast<char>(i * 5))));
    this->Put(Table::kQueues, keys.back(), "v");
  }
  this->Put(Table::kQueues, "r/after", "v");
  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 20; ++pages) {
    std::vector<std::string> page = this->Keys(Table::kQueues, "q/", after, 7);
    ASSERT_LE(page.size(), 7u);
    if (page.empty()) break;
    paged.insert(paged.end(), page.begin(), page.end());
    after = page.back();
  }
  EXPECT_THAT(paged, ElementsAreArray(keys));
  EXPECT_THAT(this->Keys(Table::kQueues, "q/", "", 0), ElementsAre());
  // start_after need not be a stored key.
  EXPECT_THAT(this->Keys(Table::kQueues, "q/", keys[3] + "~", 2), ElementsAre(keys[4], keys[5]));
  EXPECT_THAT(this->Keys(Table::kQueues, "q/", keys.back()), ElementsAre());
}

// Store::Read answers each read of a batch as Get and Scan would alone, in
// the order asked, whatever else the batch holds: absent, empty and binary
// values, one key in two tables, a key asked twice, scans ending exactly
// where their prefix (0xff bytes included) or their limit does.
TYPED_TEST(StoreConformanceTest, ReadAnswersEachReadOfABatchAsGetAndScanWould) {
  const std::string binary("\x00\xff\x01", 3);
  this->Put(Table::kAccounts, "ann", "account");
  this->Put(Table::kDevices, "ann", binary);
  this->Put(Table::kAccounts, "empty", "");
  for (const char* k : {"ann/1", "ann/2", "ann/3", "anna/1", "am/1"}) {
    this->Put(Table::kDevices, k, std::string("dev ") + k);
  }
  const std::string ff("\xff\xff", 2);
  this->Put(Table::kQueues, ff, "ff");
  this->Put(Table::kQueues, ff + std::string("\x00", 1), "ff0");
  this->Put(Table::kQueues, "\xfe", "fe");

  ReadBatch batch;
  EXPECT_EQ(batch.Get(Table::kAccounts, "ann"), 0u);
  EXPECT_EQ(batch.Scan(Table::kDevices, "ann/", 10), 0u);
  EXPECT_EQ(batch.Get(Table::kAccounts, "nobody"), 1u);
  EXPECT_EQ(batch.Get(Table::kDevices, "ann"), 2u);
  EXPECT_EQ(batch.Scan(Table::kDevices, "ann/", 2), 1u);
  EXPECT_EQ(batch.Get(Table::kAccounts, "empty"), 3u);
  EXPECT_EQ(batch.Scan(Table::kQueues, ff, 10), 2u);
  EXPECT_EQ(batch.Get(Table::kAccounts, "ann"), 4u);
  EXPECT_EQ(batch.Scan(Table::kDevices, "nobody/", 10), 3u);
  EXPECT_EQ(batch.Scan(Table::kDevices, "", 3), 4u);
  ASSERT_OK_AND_ASSIGN(ReadResult read, this->store_->Read(batch));
  EXPECT_THAT(read.values, ElementsAre(Optional(std::string("account")), Eq(std::nullopt),
                                       Optional(binary), Optional(std::string()),
                                       Optional(std::string("account"))));
  ASSERT_EQ(read.scans.size(), 5u);
  // Each scan as the same Scan alone answers it.
  for (size_t i = 0; i < batch.scans().size(); ++i) {
    const ReadBatch::ScanOp& op = batch.scans()[i];
    ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> alone,
                         this->store_->Scan(op.table, op.prefix, "", op.limit));
    ASSERT_EQ(read.scans[i].size(), alone.size()) << "scan " << i;
    for (size_t j = 0; j < alone.size(); ++j) {
      EXPECT_EQ(read.scans[i][j].key, alone[j].key) << "scan " << i;
      EXPECT_EQ(read.scans[i][j].value, alone[j].value) << "scan " << i;
    }
  }
  EXPECT_EQ(read.scans[0].size(), 3u);
  EXPECT_EQ(read.scans[0][2].value, "dev ann/3");
  EXPECT_EQ(read.scans[1].size(), 2u);
  EXPECT_EQ(read.scans[2].size(), 2u);
  EXPECT_TRUE(read.scans[3].empty());
  EXPECT_EQ(read.scans[4].size(), 3u);
  EXPECT_EQ(read.scans[4][0].key, "am/1");

  // Nothing asked, nothing answered.
  ASSERT_OK_AND_ASSIGN(ReadResult none, this->store_->Read(ReadBatch()));
  EXPECT_TRUE(none.values.empty());
  EXPECT_TRUE(none.scans.empty());
}

// Every table is reachable through Read (PostgreSQL's read function names
// each one), and a read sees every write that returned before it.
TYPED_TEST(StoreConformanceTest, ReadReachesEveryTableAndSeesEarlierWrites) {
  WriteBatch all;
  ReadBatch batch;
  for (Table t : kAllTables) {
    all.Put(t, "key", absl::StrCat("in ", TableName(t)));
    batch.Get(t, "key");
    batch.Scan(t, "k", 5);
  }
  ASSERT_OK(this->store_->Write(all, Durability::kBuffered));
  ASSERT_OK_AND_ASSIGN(ReadResult read, this->store_->Read(batch));
  ASSERT_EQ(read.values.size(), std::size(kAllTables));
  ASSERT_EQ(read.scans.size(), std::size(kAllTables));
  for (size_t i = 0; i < std::size(kAllTables); ++i) {
    const std::string expected = absl::StrCat("in ", TableName(kAllTables[i]));
    EXPECT_THAT(read.values[i], Optional(expected));
    ASSERT_EQ(read.scans[i].size(), 1u) << TableName(kAllTables[i]);
    EXPECT_EQ(read.scans[i][0].value, expected);
  }
}

TYPED_TEST(StoreConformanceTest, PopFirstTakesTheFirstEntryUnderThePrefixOnly) {
  Store& store = *this->store_;
  EXPECT_THAT(store.PopFirst(Table::kPreKeys, "bob/", Durability::kSynced),
              IsOkAndHolds(Eq(std::nullopt)));
  this->Put(Table::kPreKeys, "bob/2", "two");
  this->Put(Table::kPreKeys, "bob/1", "one");
  this->Put(Table::kPreKeys, "bob0", "neighbour");
  ASSERT_OK_AND_ASSIGN(std::optional<KeyValue> first,
                       store.PopFirst(Table::kPreKeys, "bob/", Durability::kSynced));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->key, "bob/1");
  EXPECT_EQ(first->value, "one");
  EXPECT_THAT(store.Get(Table::kPreKeys, "bob/1"), IsOkAndHolds(Eq(std::nullopt)));
  ASSERT_OK_AND_ASSIGN(first, store.PopFirst(Table::kPreKeys, "bob/", Durability::kBuffered));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->key, "bob/2");
  EXPECT_THAT(store.PopFirst(Table::kPreKeys, "bob/", Durability::kSynced),
              IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(this->Keys(Table::kPreKeys, ""), ElementsAre("bob0"));
}

// One-time prekeys: eight concurrent takers, each entry to exactly one.
TYPED_TEST(StoreConformanceTest, PopFirstNeverHandsAnEntryOutTwice) {
  Store& store = *this->store_;
  constexpr int kEntries = 200;
  WriteBatch batch;
  for (int i = 0; i < kEntries; ++i) {
    batch.Put(Table::kPreKeys, absl::StrCat("carol/", 1000 + i), absl::StrCat("key", i));
  }
  ASSERT_OK(store.Write(batch, Durability::kSynced));
  std::vector<std::vector<std::string>> taken(8);
  std::vector<std::thread> takers;
  for (auto& mine : taken) {
    takers.emplace_back([&store, &mine] {
      for (;;) {
        absl::StatusOr<std::optional<KeyValue>> kv =
            store.PopFirst(Table::kPreKeys, "carol/", Durability::kBuffered);
        ASSERT_OK(kv);
        if (!kv->has_value()) return;
        mine.push_back((*kv)->value);
      }
    });
  }
  for (std::thread& t : takers) t.join();
  std::multiset<std::string> all;
  for (const auto& mine : taken) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<size_t>(kEntries))
      << "an entry was handed out twice";
}

TYPED_TEST(StoreConformanceTest, LargeBinaryValuesRoundTrip) {
  std::mt19937 random(17);
  std::string big(4 << 20, '\0');
  for (char& c : big) c = static_cast<char>(random());
  big[0] = '\0';
  big[1] = '\xff';
  this->Put(Table::kQueues, "big", big);
  EXPECT_THAT(this->store_->Get(Table::kQueues, "big"), IsOkAndHolds(Optional(big)));
  ASSERT_OK_AND_ASSIGN(std::optional<KeyValue> popped,
                       this->store_->PopFirst(Table::kQueues, "bi", Durability::kSynced));
  ASSERT_TRUE(popped.has_value());
  EXPECT_TRUE(popped->value == big) << "popped value differs, size " << popped->value.size();
}

TYPED_TEST(StoreConformanceTest, SyncedDataOutlivesTheStore) {
  this->Put(Table::kAccounts, "dana", "buffered");
  ASSERT_OK(this->store_->SyncLog());
  absl::Notification durable;
  absl::Status result = absl::UnknownError("not called");
  this->store_->WhenDurable([&](absl::Status s) {
    result = s;
    durable.Notify();
  });
  durable.WaitForNotification();
  EXPECT_OK(result);
  this->store_.reset();
  ASSERT_OK_AND_ASSIGN(this->store_, this->backend_.Open());
  EXPECT_THAT(this->store_->Get(Table::kAccounts, "dana"),
              IsOkAndHolds(Optional(std::string("buffered"))));
}

TYPED_TEST(StoreConformanceTest, ErrorsSayWhatWasWrong) {
  WriteBatch audited;
  audited.Put(Table::kAudit, "k", "v");
  audited.AddAuditEvent("event");
  EXPECT_THAT(this->store_->Write(audited, Durability::kSynced),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("audit")));
  EXPECT_THAT(this->store_->Get(Table::kAudit, "k"), IsOkAndHolds(Eq(std::nullopt)))
      << "a refused batch must store nothing of itself";
  std::string named;
  absl::StatusOr<std::unique_ptr<Store>> unusable = this->backend_.OpenUnusable(&named);
  ASSERT_FALSE(unusable.ok());
  EXPECT_THAT(unusable.status().message(), HasSubstr(named));
  EXPECT_THAT(unusable.status().message(), Not(HasSubstr("hunter2")));
}

// PostgreSQL alone.

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(pg_, sotto::testing::PostgresInstance::Start()); }
  std::unique_ptr<sotto::testing::PostgresInstance> pg_;
};

TEST_F(PostgresStoreTest, RefusesADatabaseThatWouldLoseAcknowledgedWrites) {
  ASSERT_OK(pg_->Sql("ALTER DATABASE postgres SET synchronous_commit = off").status());
  EXPECT_THAT(OpenPostgresStore(pg_->url()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("synchronous_commit")));
}

TEST_F(PostgresStoreTest, RefusesANewerSchemaVersion) {
  ASSERT_OK(OpenPostgresStore(pg_->url()).status());
  ASSERT_OK(pg_->Sql("UPDATE sotto_meta SET v = '99'").status());
  EXPECT_THAT(OpenPostgresStore(pg_->url()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("schema version 99")));
}

// A restart (or failover) breaks every pooled connection. A read (Get, a
// batched Read) retries on a fresh one; a write that meets a broken one fails UNAVAILABLE with no
// server detail (it may not be repeated blindly), and every idle
// connection is dropped with it, so the next write reconnects.
TEST_F(PostgresStoreTest, ReconnectsAfterTheDatabaseRestarts) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(pg_->url()));
  WriteBatch batch;
  batch.Put(Table::kAccounts, "erin", "v");
  ASSERT_OK(store->Write(batch, Durability::kSynced));
  ASSERT_OK(store->SyncLog());  // a second pooled connection, if the pool made one
  ASSERT_OK(pg_->Restart());
  EXPECT_THAT(store->Get(Table::kAccounts, "erin"), IsOkAndHolds(Optional(std::string("v"))));
  ASSERT_OK(pg_->Restart());
  ReadBatch read;
  read.Get(Table::kAccounts, "erin");
  read.Scan(Table::kAccounts, "er", 10);
  ASSERT_OK_AND_ASSIGN(ReadResult got, store->Read(read));
  EXPECT_THAT(got.values, ElementsAre(Optional(std::string("v"))));
  EXPECT_EQ(got.scans.at(0).size(), 1u);
  ASSERT_OK(pg_->Restart());
  EXPECT_THAT(store->Write(batch, Durability::kSynced),
              StatusIs(absl::StatusCode::kUnavailable, Not(HasSubstr("127.0.0.1"))));
  EXPECT_OK(store->Write(batch, Durability::kSynced));
  EXPECT_OK(store->SyncLog());
}

// Group commit over PostgreSQL: a sync that met the restart fails, the
// next one (a fresh connection) succeeds. On RocksDB the first failure is
// final (a failed fsync may have dropped pages); here it is not, or a
// database restart would stop every Send until sotto-server restarted.
TEST_F(PostgresStoreTest, GroupCommitRecoversAfterTheDatabaseRestarts) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(pg_->url()));
  LogSyncer syncer(store.get(), 16, /*failures_final=*/false);
  ASSERT_OK(syncer.WaitForSync());
  ASSERT_OK(pg_->Restart());
  EXPECT_THAT(syncer.WaitForSync(), StatusIs(absl::StatusCode::kUnavailable));
  WriteBatch batch;
  batch.Put(Table::kQueues, "after-restart", "v");
  ASSERT_OK(store->Write(batch, Durability::kBuffered));
  EXPECT_OK(syncer.WaitForSync());
  syncer.Stop();
}

TEST(PostgresUrlTest, RedactsPasswords) {
  EXPECT_EQ(RedactPostgresUrl("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
  EXPECT_EQ(RedactPostgresUrl("postgresql://u@h/db?password=pw&x=1"),
            "postgresql://u@h/db?password=***&x=1");
  EXPECT_EQ(RedactPostgresUrl("postgres://h/db"), "postgres://h/db");
  EXPECT_TRUE(IsPostgresUrl("postgresql://h/db"));
  EXPECT_FALSE(IsPostgresUrl("/var/lib/sotto"));
}

}  // namespace
}  // namespace sotto::server
