// The schema version record (server/storage/schema_version.h): written when
// a database is created, adopted in a database from before versioning, and a
// database of a newer schema refused, read-write and read-only. The record
// is read and written here with RocksDB itself, as another build would.

#include "server/storage/schema_version.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/storage/rocksdb_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Opens `path` with raw RocksDB, every column family it has, and runs `fn`
// on the DB and its default family.
void WithRawDb(const std::string& path,
               const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* def = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) def = handles[i];
  }
  fn(db.get(), def);
  for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
}

std::string StoredVersion(const std::string& path) {
  std::string v = "(none)";
  WithRawDb(path, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* def) {
    if (!db->Get(rocksdb::ReadOptions(), def, kSchemaVersionKey, &v).ok()) v = "(none)";
  });
  return v;
}

void SetStoredVersion(const std::string& path, const std::string* version) {
  WithRawDb(path, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* def) {
    rocksdb::Status s = version != nullptr
                            ? db->Put(rocksdb::WriteOptions(), def, kSchemaVersionKey, *version)
                            : db->Delete(rocksdb::WriteOptions(), def, kSchemaVersionKey);
    ASSERT_TRUE(s.ok()) << s.ToString();
  });
}

class SchemaVersionTest : public ::testing::Test {
 protected:
  // A database with one account, closed again.
  void MakeDatabase() {
    ASSERT_OK_AND_ASSIGN(auto store, OpenRocksDbStore(path_));
    WriteBatch batch;
    batch.Put(Table::kAccounts, "alice", "A");
    ASSERT_OK(store->Write(batch, Durability::kSynced));
  }

  sotto::testing::TempDir dir_;
  const std::string path_ = dir_.path() + "/db";
};

TEST_F(SchemaVersionTest, ANewDatabaseRecordsTheCurrentVersion) {
  MakeDatabase();
  EXPECT_EQ(StoredVersion(path_), std::to_string(kSchemaVersion));
}

TEST_F(SchemaVersionTest, ADatabaseFromBeforeVersioningIsAdoptedWithItsData) {
  MakeDatabase();
  SetStoredVersion(path_, nullptr);  // as every build before the record wrote it
  ASSERT_OK_AND_ASSIGN(auto store, OpenRocksDbStore(path_));
  ASSERT_OK_AND_ASSIGN(auto alice, store->Get(Table::kAccounts, "alice"));
  EXPECT_EQ(alice, "A");
  store.reset();
  EXPECT_EQ(StoredVersion(path_), std::to_string(kSchemaVersion));
}

TEST_F(SchemaVersionTest, ANewerSchemaIsRefusedNamingBothVersions) {
  MakeDatabase();
  const std::string newer = std::to_string(kSchemaVersion + 1);
  SetStoredVersion(path_, &newer);
  EXPECT_THAT(
      OpenRocksDbStore(path_).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("schema version " + newer), HasSubstr("newer"),
                     HasSubstr("(" + std::to_string(kSchemaVersion) + ")"), HasSubstr(path_))));
  RocksDbStoreOptions read_only;
  read_only.read_only = true;
  EXPECT_THAT(OpenRocksDbStore(path_, read_only).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
  // Refused without being touched: the newer binary still finds its record.
  EXPECT_EQ(StoredVersion(path_), newer);
}

// Version 1 is the first, so the only older database is one without the
// record (adopted above); a record no build writes is damage.
TEST_F(SchemaVersionTest, AMalformedVersionIsRefusedAsDataLoss) {
  MakeDatabase();
  for (const std::string bad : {"0", "one"}) {
    SetStoredVersion(path_, &bad);
    EXPECT_THAT(OpenRocksDbStore(path_).status(),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("malformed schema version")));
  }
}

}  // namespace
}  // namespace sotto::server
