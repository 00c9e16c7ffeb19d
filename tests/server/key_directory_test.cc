#include "server/domain/key_directory.h"

#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "tests/server/domain_fixture.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

class KeyDirectoryTest : public DomainTest {};

TEST_F(KeyDirectoryTest, ConcurrentBundleFetchesNeverShareAOneTimePreKey) {
  Register("bob", 100, /*prekeys=*/100);
  absl::Mutex mu;
  std::vector<uint32_t> ids;
  int without = 0;
  // 100 callers released at once, one GetBundle each.
  absl::Notification go;
  std::vector<std::thread> threads;
  for (int t = 0; t < 100; ++t) {
    threads.emplace_back([&] {
      go.WaitForNotification();
      auto bundles = keys_->GetBundle("bob");
      ASSERT_TRUE(bundles.ok()) << bundles.status();
      ASSERT_EQ(bundles->size(), 1u);
      absl::MutexLock lock(&mu);
      if ((*bundles)[0].one_time_prekey) {
        ids.push_back((*bundles)[0].one_time_prekey->id);
      } else {
        ++without;
      }
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(without, 0);
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), 100u);

  // The 101st fetch still gets a usable bundle: signed prekey only.
  ASSERT_OK_AND_ASSIGN(auto last, keys_->GetBundle("bob"));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_FALSE(last[0].one_time_prekey.has_value());
  EXPECT_EQ(last[0].signed_prekey.id, 7u);
  EXPECT_EQ(last[0].registration_id, 100u);
  EXPECT_EQ(last[0].identity_key, signal_keys_["bob"].identity_key());
}

TEST_F(KeyDirectoryTest, BundleHasOneEntryPerDeviceInOrder) {
  AuthenticatedDevice bob = Register("bob", 100, 1);
  AddDevice(bob, 222);
  ASSERT_OK_AND_ASSIGN(auto bundles, keys_->GetBundle("bob"));
  ASSERT_EQ(bundles.size(), 2u);
  EXPECT_EQ(bundles[0].device_id, 1u);
  EXPECT_TRUE(bundles[0].one_time_prekey.has_value());
  EXPECT_EQ(bundles[1].device_id, 2u);
  EXPECT_EQ(bundles[1].registration_id, 222u);
}

TEST_F(KeyDirectoryTest, UnknownUserIsNotFound) {
  EXPECT_THAT(keys_->GetBundle("nobody"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
}

TEST_F(KeyDirectoryTest, UploadAddsPreKeysAndRotatesTheSignedPreKey) {
  AuthenticatedDevice bob = Register("bob", 100, 5);
  sotto::testing::SignalTestKeys& k = signal_keys_["bob"];
  DeviceKeys upload;
  for (const auto& p : k.MakeOneTimePreKeys(100, 10)) {
    upload.one_time_prekeys.push_back(OneTimePreKey{p.id, p.public_key});
  }
  auto spk = k.MakeSignedPreKey(8);
  upload.signed_prekey = SignedPreKey{spk.id, spk.public_key, spk.signature};
  ASSERT_OK_AND_ASSIGN(uint32_t count, keys_->Upload(bob, upload));
  EXPECT_EQ(count, 15u);
  ASSERT_OK_AND_ASSIGN(PreKeyCount c, keys_->CountPreKeys(bob));
  EXPECT_EQ(c.one_time_prekeys, 15u);
  EXPECT_EQ(c.signed_prekey_id, 8u);
  // Re-uploading the same ids replaces them rather than adding.
  ASSERT_OK_AND_ASSIGN(count, keys_->Upload(bob, upload));
  EXPECT_EQ(count, 15u);
}

TEST_F(KeyDirectoryTest, UploadRejectsBadKeysAndStoresNothing) {
  AuthenticatedDevice bob = Register("bob", 100, 0);
  sotto::testing::SignalTestKeys& k = signal_keys_["bob"];
  sotto::testing::SignalTestKeys stranger;

  DeviceKeys too_many;
  for (const auto& p : k.MakeOneTimePreKeys(1, kMaxPreKeysPerUpload + 1)) {
    too_many.one_time_prekeys.push_back(OneTimePreKey{p.id, p.public_key});
  }
  EXPECT_THAT(keys_->Upload(bob, too_many),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too many")));

  DeviceKeys wrong_identity;
  wrong_identity.identity_key = stranger.identity_key();
  EXPECT_THAT(keys_->Upload(bob, wrong_identity),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("identity_key")));

  DeviceKeys signed_by_stranger;
  auto spk = stranger.MakeSignedPreKey(9);
  signed_by_stranger.signed_prekey = SignedPreKey{spk.id, spk.public_key, spk.signature};
  EXPECT_THAT(keys_->Upload(bob, signed_by_stranger),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("signed prekey signature does not verify")));

  DeviceKeys bad_key;
  bad_key.one_time_prekeys.push_back(OneTimePreKey{1, std::string(33, '\x06')});
  EXPECT_THAT(keys_->Upload(bob, bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type byte")));
  bad_key.one_time_prekeys[0].public_key = k.MakePublicKey().substr(0, 32);
  EXPECT_THAT(keys_->Upload(bob, bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("33 bytes")));
  bad_key.one_time_prekeys[0] = OneTimePreKey{0x1000000, k.MakePublicKey()};
  EXPECT_THAT(keys_->Upload(bob, bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));

  ASSERT_OK_AND_ASSIGN(PreKeyCount c, keys_->CountPreKeys(bob));
  EXPECT_EQ(c.one_time_prekeys, 0u);
  EXPECT_EQ(c.signed_prekey_id, 7u);
}

TEST_F(KeyDirectoryTest, StoredPreKeysAreCapped) {
  AuthenticatedDevice bob = Register("bob", 100, 0);
  sotto::testing::SignalTestKeys& k = signal_keys_["bob"];
  // One public key reused under many ids keeps the test fast.
  std::string pk = k.MakePublicKey();
  for (uint32_t batch = 0; batch < kMaxStoredPreKeys / kMaxPreKeysPerUpload; ++batch) {
    DeviceKeys upload;
    for (uint32_t i = 0; i < kMaxPreKeysPerUpload; ++i) {
      upload.one_time_prekeys.push_back(OneTimePreKey{batch * 100 + i + 1, pk});
    }
    ASSERT_OK(keys_->Upload(bob, upload).status());
  }
  DeviceKeys one_more;
  one_more.one_time_prekeys.push_back(OneTimePreKey{5000, pk});
  EXPECT_THAT(keys_->Upload(bob, one_more),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("1000")));
}

// A restored device replaces its whole stock: the keys the server held
// (published by the lost device) are never handed out again, even past the
// cap of stored keys, in one write.
TEST_F(KeyDirectoryTest, ReplacingUploadDeletesEveryStoredOneTimePreKey) {
  AuthenticatedDevice bob = Register("bob", 100, 0);
  sotto::testing::SignalTestKeys& k = signal_keys_["bob"];
  std::string old_key = k.MakePublicKey();
  for (uint32_t batch = 0; batch < kMaxStoredPreKeys / kMaxPreKeysPerUpload; ++batch) {
    DeviceKeys upload;
    for (uint32_t i = 0; i < kMaxPreKeysPerUpload; ++i) {
      upload.one_time_prekeys.push_back(OneTimePreKey{batch * 100 + i + 1, old_key});
    }
    ASSERT_OK(keys_->Upload(bob, upload).status());
  }
  DeviceKeys fresh;
  std::string new_key = k.MakePublicKey();
  // Id 7 was stored before: replaced too, with the new key.
  for (uint32_t id : {7u, 200001u, 200002u}) fresh.one_time_prekeys.push_back({id, new_key});
  ASSERT_OK_AND_ASSIGN(uint32_t count,
                       keys_->Upload(bob, fresh, {}, KeyDirectory::OneTimePreKeys::kReplace));
  EXPECT_EQ(count, 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(std::vector<PreKeyBundle> bundles, keys_->GetBundle("bob"));
    ASSERT_EQ(bundles.size(), 1u);
    ASSERT_TRUE(bundles[0].one_time_prekey.has_value());
    EXPECT_EQ(bundles[0].one_time_prekey->public_key, new_key);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<PreKeyBundle> empty, keys_->GetBundle("bob"));
  EXPECT_FALSE(empty[0].one_time_prekey.has_value());
  // A replacing upload with no keys empties the stock; a bad one changes nothing.
  ASSERT_OK(keys_->Upload(bob, fresh).status());
  DeviceKeys bad;
  bad.one_time_prekeys.push_back({1, "not a key"});
  EXPECT_THAT(keys_->Upload(bob, bad, {}, KeyDirectory::OneTimePreKeys::kReplace),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(PreKeyCount kept, keys_->CountPreKeys(bob));
  EXPECT_EQ(kept.one_time_prekeys, 3u);
  ASSERT_OK_AND_ASSIGN(count, keys_->Upload(bob, DeviceKeys{}, {},
                                            KeyDirectory::OneTimePreKeys::kReplace));
  EXPECT_EQ(count, 0u);
}

}  // namespace
}  // namespace sotto::server
