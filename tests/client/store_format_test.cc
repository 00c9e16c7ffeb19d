// The encrypted store's format version and manifest (issue 22): a store of
// the format before them still opens, and is rewritten; a value of one
// format never reads as another's; rows deleted, rolled back or added with
// raw RocksDB access are refused at open, naming the space.

#include <sodium.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/storage/store_header.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "sotto/local_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::client::storage {
namespace {

using ::sotto::testing::StatusIs;
using ::sotto::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

const unsigned char* U(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Got(LocalStore& store, Space space, absl::string_view key) {
  auto got = store.Get(space, key);
  if (!got.ok()) return absl::StrCat("<error ", got.status().ToString(), ">");
  return got->has_value() ? **got : "<absent>";
}

std::string Full(Space space, absl::string_view key) {
  return absl::StrCat(std::string(1, static_cast<char>(space)), key);
}

// Raw RocksDB access to a closed store: what someone who can write the
// profile's files can do.
class RawDb {
 public:
  explicit RawDb(const std::string& dir, bool create = false) {
    rocksdb::Options options;
    options.create_if_missing = create;
    rocksdb::DB* raw = nullptr;
    status_ = rocksdb::DB::Open(options, dir, &raw);
    db_.reset(raw);
  }
  bool ok() const { return status_.ok(); }
  std::string Get(const std::string& key) {
    std::string v;
    return db_->Get(rocksdb::ReadOptions(), key, &v).ok() ? v : "<absent>";
  }
  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), key, value).ok());
  }
  void Delete(const std::string& key) {
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), key).ok());
  }

 private:
  rocksdb::Status status_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Seals `value` as the store did before issue 22: XChaCha20-Poly1305 under
// the value subkey, the stored key alone as associated data.
std::string SealFormat1(const SecretKey& data_key, const std::string& full_key,
                        const std::string& value) {
  unsigned char value_key[kKeyBytes];
  crypto_kdf_derive_from_key(value_key, kKeyBytes, 1, "sottoval", data_key.data());
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + value.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  unsigned char* o = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(o, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                             &clen, U(value), value.size(), U(full_key),
                                             full_key.size(), nullptr, o, value_key);
  sodium_memzero(value_key, sizeof value_key);
  return out;
}

class StoreFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  std::string db() const { return dir_.sub("db"); }

  // A store laid out as Sotto wrote it before issue 22 (format 1), holding
  // `rows`, under passphrase "pass".
  void WriteFormat1Store(const std::vector<std::pair<std::string, std::string>>& rows) {
    randombytes_buf(data_key_.data(), kKeyBytes);
    const KdfLimits limits = KdfLimits::ForTesting();
    ASSERT_OK_AND_ASSIGN(std::string header,
                         WrapStoreHeader(data_key_, "pass", limits.ops, limits.mem, kLegacyFormat));
    RawDb raw(db(), /*create=*/true);
    ASSERT_TRUE(raw.ok());
    raw.Put(std::string(1, '\0') + "header", header);
    for (const auto& [full_key, value] : rows) {
      raw.Put(full_key, SealFormat1(data_key_, full_key, value));
    }
  }

  TempDir dir_;
  SecretKey data_key_;
};

TEST_F(StoreFormatTest, AFormat1StoreOpensWithItsDataAndIsRewrittenInTheCurrentFormat) {
  WriteFormat1Store({{Full(Space::kTrust, "alice\x01"), "alice's key"},
                     {Full(Space::kSession, "alice\x01"), "session state"},
                     {Full(Space::kHistory, "h1"), "a message"},
                     {Full(Space::kMeta, "profile"), "me"}});
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
    EXPECT_EQ(Got(*store, Space::kTrust, "alice\x01"), "alice's key");
    EXPECT_EQ(Got(*store, Space::kSession, "alice\x01"), "session state");
    EXPECT_EQ(Got(*store, Space::kHistory, "h1"), "a message");
    EXPECT_EQ(Got(*store, Space::kMeta, "profile"), "me");
    ASSERT_OK(store->Apply({{Space::kTrust, "bob\x01", "bob's key"}}));
  }
  {
    RawDb raw(db());
    ASSERT_TRUE(raw.ok());
    const std::string header = raw.Get(std::string(1, '\0') + "header");
    ASSERT_GT(header.size(), kStoreMagic.size());
    EXPECT_EQ(static_cast<int>(header[kStoreMagic.size()]), kCurrentFormat);
  }
  // Opens again (the manifest made at the upgrade matches), data intact.
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kTrust, "alice\x01"), "alice's key");
  EXPECT_EQ(Got(*store, Space::kTrust, "bob\x01"), "bob's key");
}

TEST_F(StoreFormatTest, AFormat1ValueIsNotReadAsACurrentOne) {
  WriteFormat1Store({{Full(Space::kMeta, "profile"), "me"}});
  { ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass")); }
  {
    // A format-1 value slipped into the upgraded store (the history is not
    // in the manifest, so only the format tag can refuse it).
    RawDb raw(db());
    raw.Put(Full(Space::kHistory, "h1"), SealFormat1(data_key_, Full(Space::kHistory, "h1"), "x"));
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_THAT(store->Get(Space::kHistory, "h1"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("failed authentication")));
}

TEST_F(StoreFormatTest, AStoreOfANewerFormatIsRefusedByName) {
  {
    const KdfLimits limits = KdfLimits::ForTesting();
    ASSERT_OK_AND_ASSIGN(std::string header,
                         WrapStoreHeader(data_key_, "pass", limits.ops, limits.mem, 3));
    RawDb raw(db(), /*create=*/true);
    raw.Put(std::string(1, '\0') + "header", header);
  }
  EXPECT_THAT(OpenEncryptedStore(db(), "pass"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("format 3"), HasSubstr("newer Sotto"))));
}

// What someone with write access to the files may delete to make a peer's
// next key look like a first contact, a session start afresh, or a message
// never go out.
class DeletedRowTest : public StoreFormatTest, public ::testing::WithParamInterface<Space> {};

TEST_P(DeletedRowTest, ARowDeletedBehindTheStoresBackIsRefusedAtOpen) {
  const Space space = GetParam();
  {
    ASSERT_OK_AND_ASSIGN(auto store, CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting()));
    ASSERT_OK(store->Apply({{space, "alice\x01", "one"}, {space, "alice\x02", "two"}}));
  }
  {
    RawDb raw(db());
    ASSERT_TRUE(raw.ok());
    raw.Delete(Full(space, "alice\x02"));
  }
  EXPECT_THAT(OpenEncryptedStore(db(), "pass"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("changed outside Sotto"), HasSubstr(SpaceName(space)),
                             HasSubstr("deleted"))));
}

INSTANTIATE_TEST_SUITE_P(ProtectedSpaces, DeletedRowTest,
                         ::testing::Values(Space::kIdentity, Space::kTrust, Space::kSession,
                                           Space::kUnsent, Space::kVerified,
                                           Space::kPendingIdentity, Space::kMeta),
                         [](const ::testing::TestParamInfo<Space>& info) {
                           return std::string(SpaceName(info.param)).substr(1);
                         });

TEST_F(StoreFormatTest, ARowRolledBackToAnOlderSealedCopyIsRefusedAtOpen) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting()));
    ASSERT_OK(store->Apply({{Space::kSession, "alice", "ratchet step 1"}}));
  }
  std::string step1;
  {
    RawDb raw(db());
    step1 = raw.Get(Full(Space::kSession, "alice"));
  }
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
    ASSERT_OK(store->Apply({{Space::kSession, "alice", "ratchet step 2"}}));
  }
  {
    RawDb raw(db());
    raw.Put(Full(Space::kSession, "alice"), step1);
  }
  EXPECT_THAT(
      OpenEncryptedStore(db(), "pass"),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr("kSession"), HasSubstr("older copy"))));
}

TEST_F(StoreFormatTest, ADeletedManifestIsRefusedAtOpen) {
  { ASSERT_OK_AND_ASSIGN(auto store, CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting())); }
  {
    RawDb raw(db());
    raw.Delete(std::string(1, '\0') + "manifest");
  }
  EXPECT_THAT(OpenEncryptedStore(db(), "pass"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("manifest is missing")));
}

TEST_F(StoreFormatTest, TheManifestFollowsOverwritesAndDeletesWithinOneBatch) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting()));
    ASSERT_OK(store->Apply({{Space::kTrust, "a", "1"}, {Space::kTrust, "b", "1"}}));
    ASSERT_OK(store->Apply({{Space::kTrust, "a", "2"},
                            {Space::kTrust, "a", "3"},
                            {Space::kTrust, "b", std::nullopt},
                            {Space::kTrust, "b", "4"},
                            {Space::kTrust, "c", "5"},
                            {Space::kTrust, "c", std::nullopt},
                            {Space::kTrust, "never", std::nullopt},
                            {Space::kHistory, "h", "x"}}));
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kTrust, "a"), "3");
  EXPECT_EQ(Got(*store, Space::kTrust, "b"), "4");
  EXPECT_EQ(Got(*store, Space::kTrust, "c"), "<absent>");
}

TEST_F(StoreFormatTest, HistoryRowsAreOutsideTheManifest) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting()));
    ASSERT_OK(store->Apply({{Space::kHistory, "h1", "x"}, {Space::kHistory, "h2", "y"}}));
  }
  {
    RawDb raw(db());
    raw.Delete(Full(Space::kHistory, "h1"));
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kHistory, "h1"), "<absent>");
  EXPECT_EQ(Got(*store, Space::kHistory, "h2"), "y");
}

}  // namespace
}  // namespace sotto::client::storage
