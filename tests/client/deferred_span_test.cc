// The encrypted store's deferred spans (LocalStore::BeginDeferredSync, issue
// 21): a span's writes are held in memory, seen by every read, and written at
// its end in one batch with the manifest — so a session rewritten for each of
// a page's 1,000 messages is sealed and written once, and a process killed
// inside a span loses the span whole, never a part of it.

#include <signal.h>
#include <sodium.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/storage/value_sealer.h"
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
using ::testing::HasSubstr;

std::string Got(LocalStore& store, Space space, absl::string_view key) {
  auto got = store.Get(space, key);
  if (!got.ok()) return absl::StrCat("<error ", got.status().ToString(), ">");
  return got->has_value() ? **got : "<absent>";
}

std::string Scanned(LocalStore& store, Space space, absl::string_view prefix) {
  auto entries = store.Scan(space, prefix);
  if (!entries.ok()) return absl::StrCat("<error ", entries.status().ToString(), ">");
  std::string out;
  for (const Entry& e : *entries) absl::StrAppend(&out, e.key, "=", e.value, ";");
  return out;
}

class DeferredSpanTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  std::string db() const { return dir_.sub("db"); }
  absl::StatusOr<std::unique_ptr<LocalStore>> Create() {
    return CreateEncryptedStore(db(), "pass", KdfLimits::ForTesting());
  }
  TempDir dir_;
};

TEST_F(DeferredSpanTest, ReadsInsideASpanSeeItsWritesOverwritesAndDeletes) {
  ASSERT_OK_AND_ASSIGN(auto store, Create());
  ASSERT_OK(store->Apply({{Space::kHistory, "a", "1"},
                          {Space::kHistory, "c", "3"},
                          {Space::kHistory, "e", "5"},
                          {Space::kConversation, "b", "other space"}}));
  store->BeginDeferredSync();
  ASSERT_OK(store->Apply({{Space::kHistory, "b", "2"}, {Space::kHistory, "a", "10"}}));
  ASSERT_OK(store->Apply({{Space::kHistory, "c", std::nullopt}}));
  ASSERT_OK(store->Apply({{Space::kHistory, "d", "4"}, {Space::kHistory, "b", "20"}}));
  const std::string expected = "a=10;b=20;d=4;e=5;";
  EXPECT_EQ(Got(*store, Space::kHistory, "a"), "10");
  EXPECT_EQ(Got(*store, Space::kHistory, "c"), "<absent>");
  EXPECT_EQ(Scanned(*store, Space::kHistory, ""), expected);
  EXPECT_EQ(Scanned(*store, Space::kHistory, "b"), "b=20;");
  EXPECT_EQ(Scanned(*store, Space::kConversation, ""), "b=other space;");
  ASSERT_OK(store->EndDeferredSync());
  EXPECT_EQ(Scanned(*store, Space::kHistory, ""), expected);
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Scanned(*store, Space::kHistory, ""), expected);
}

TEST_F(DeferredSpanTest, WritesOfASpanEndedWithoutSyncAreKept) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, Create());
    store->BeginDeferredSync();
    ASSERT_OK(store->Apply({{Space::kHistory, "m", "message"}}));
    ASSERT_OK(store->EndDeferredSyncUnsynced());
    ASSERT_OK(store->SyncApplied());
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kHistory, "m"), "message");
}

TEST_F(DeferredSpanTest, OnlyTheOutermostEndWritesAndNestedSpansSeeEverything) {
  ASSERT_OK_AND_ASSIGN(auto store, Create());
  store->BeginDeferredSync();
  store->BeginDeferredSync();
  ASSERT_OK(store->Apply({{Space::kSession, "s", "inner"}}));
  ASSERT_OK(store->EndDeferredSyncUnsynced());
  ASSERT_OK(store->Apply({{Space::kSession, "t", "outer"}}));
  EXPECT_EQ(Got(*store, Space::kSession, "s"), "inner");
  ASSERT_OK(store->EndDeferredSync());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Scanned(*store, Space::kSession, ""), "s=inner;t=outer;");
}

TEST_F(DeferredSpanTest, AStoreClosedInsideASpanKeepsTheSpansWrites) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, Create());
    store->BeginDeferredSync();
    ASSERT_OK(store->Apply({{Space::kSession, "s", "state"}}));
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kSession, "s"), "state");
}

// A session rewritten for every message of a page, a row added and deleted
// within the span, a row deleted that was there before: the manifest written
// at the end matches the rows, and still guards them.
TEST_F(DeferredSpanTest, ProtectedRowsRewrittenInASpanPassTheManifestCheckAndStayGuarded) {
  {
    ASSERT_OK_AND_ASSIGN(auto store, Create());
    ASSERT_OK(store->Apply({{Space::kSession, "alice", "v0"}, {Space::kTrust, "bob", "key"}}));
    store->BeginDeferredSync();
    for (int i = 1; i <= 100; ++i) {
      ASSERT_OK(store->Apply({{Space::kSession, "alice", absl::StrCat("v", i)},
                              {Space::kOutbox, absl::StrCat("r", i), "receipt"}}));
    }
    ASSERT_OK(
        store->Apply({{Space::kSession, "carol", "new"}, {Space::kTrust, "bob", std::nullopt}}));
    ASSERT_OK(store->Apply({{Space::kSession, "carol", std::nullopt}}));
    ASSERT_OK(store->EndDeferredSync());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
    EXPECT_EQ(Scanned(*store, Space::kSession, ""), "alice=v100;");
    EXPECT_EQ(Got(*store, Space::kTrust, "bob"), "<absent>");
    ASSERT_OK_AND_ASSIGN(auto receipts, store->Scan(Space::kOutbox, ""));
    EXPECT_EQ(receipts.size(), 100u);
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), db(), &raw).ok());
    std::unique_ptr<rocksdb::DB> owned(raw);
    ASSERT_TRUE(owned->Delete(rocksdb::WriteOptions(), std::string(1, '\x09') + "r7").ok());
  }
  EXPECT_THAT(OpenEncryptedStore(db(), "pass"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("kOutbox")));
}

// What a sync relies on: killed inside a span (before the page's Ack), the
// store opens as it was before the span — no message without its session
// state, no session state without its messages.
TEST_F(DeferredSpanTest, AProcessKilledInsideASpanLosesTheSpanWholeAndTheStoreStillOpens) {
  // The default ("fast") style: the child is a fork of this process and
  // uses the same directory.
  { ASSERT_OK_AND_ASSIGN(auto store, Create()); }
  EXPECT_EXIT(
      {
        auto store = OpenEncryptedStore(db(), "pass");
        if (!store.ok()) _exit(1);
        if (!(*store)->Apply({{Space::kSession, "alice", "before"}}).ok()) _exit(1);
        (*store)->BeginDeferredSync();
        for (int i = 0; i < 50; ++i) {
          if (!(*store)
                   ->Apply({{Space::kSession, "alice", absl::StrCat("step ", i)},
                            {Space::kHistory, absl::StrCat("m", i), "text"}})
                   .ok()) {
            _exit(1);
          }
        }
        raise(SIGKILL);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  ASSERT_OK_AND_ASSIGN(auto store, OpenEncryptedStore(db(), "pass"));
  EXPECT_EQ(Got(*store, Space::kSession, "alice"), "before");
  EXPECT_EQ(Scanned(*store, Space::kHistory, ""), "");
}

TEST(ValueSealerTest, NoncesNeverRepeatWithinAnOpenNorBetweenOpens) {
  ASSERT_GE(sodium_init(), 0);
  SecretKey data_key;
  randombytes_buf(data_key.data(), kKeyBytes);
  std::set<std::string> nonces;
  for (int open = 0; open < 2; ++open) {
    ValueSealer sealer(data_key);
    for (int i = 0; i < 1000; ++i) {
      const std::string sealed = sealer.Seal("\x05key", "the same value");
      nonces.insert(sealed.substr(0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES));
      ASSERT_OK_AND_ASSIGN(std::string opened, sealer.Open("kSession", "\x05key", sealed));
      EXPECT_EQ(opened, "the same value");
    }
  }
  EXPECT_EQ(nonces.size(), 2000u);
}

}  // namespace
}  // namespace sotto::client::storage
