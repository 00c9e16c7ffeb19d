// The Engine's own keys: identity, registration id, signed prekeys and
// one-time prekeys (client-lib/signal/engine_keys.cc).

#include <string>
#include <vector>

#include "client-lib/signal/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "tests/client/engine_test_util.h"

namespace sotto::client::signal {
namespace {

using ::sotto::testing::StatusIs;
using storage::Space;
using ::testing::HasSubstr;

TEST_F(EngineTest, IdentityIsCreatedOnceWithSignalSizedKeys) {
  ASSERT_OK_AND_ASSIGN(std::string key, alice_->engine->IdentityPublicKey());
  EXPECT_EQ(key.size(), 33u);
  EXPECT_EQ(key[0], '\x05');
  ASSERT_OK_AND_ASSIGN(uint32_t reg, alice_->engine->RegistrationId());
  EXPECT_GE(reg, 1u);
  EXPECT_LE(reg, 16380u);
  EXPECT_THAT(alice_->engine->CreateIdentity(), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(std::string again, alice_->engine->IdentityPublicKey());
  EXPECT_EQ(again, key);
}

TEST_F(EngineTest, FreshEngineHasNoIdentityOrSignedPreKey) {
  auto store = storage::NewMemoryStore();
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Open(store.get()));
  EXPECT_THAT(engine->IdentityPublicKey(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(engine->RegistrationId(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(engine->CurrentSignedPreKey(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(engine->RotateSignedPreKey(kNow), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(EngineTest, PreKeyIdsContinueAcrossCalls) {
  ASSERT_OK_AND_ASSIGN(auto more, alice_->engine->GeneratePreKeys(3));
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(more[0].id, alice_->unused_prekeys.back().id + 1);
  EXPECT_EQ(more[2].id, more[0].id + 2);
  EXPECT_EQ(more[0].public_key.size(), 33u);
  EXPECT_THAT(alice_->engine->GeneratePreKeys(0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(alice_->engine->GeneratePreKeys(kMaxPreKeysPerCall + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EngineTest, OneTimePreKeyIsConsumedOnlyAfterFirstDecrypt) {
  ASSERT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "hi");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);  // fetching a bundle consumes nothing locally
  ASSERT_EQ(Receive(*bob_, *alice_, first), "hi");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 4u);
}

TEST_F(EngineTest, RotatingSignedPreKeyKeepsInFlightPreKeyMessagesDecryptable) {
  Connect();  // Alice fetched signed prekey 1
  Ciphertext in_flight = Send(*alice_, *bob_, "sent before the rotation");
  ASSERT_OK_AND_ASSIGN(SignedPreKeyData second, bob_->engine->RotateSignedPreKey(kNow + 1));
  ASSERT_OK_AND_ASSIGN(SignedPreKeyData third, bob_->engine->RotateSignedPreKey(kNow + 2));
  EXPECT_EQ(second.id, 2u);
  EXPECT_EQ(third.id, 3u);
  EXPECT_EQ(third.created_ms, kNow + 2);
  ASSERT_OK_AND_ASSIGN(SignedPreKeyData current, bob_->engine->CurrentSignedPreKey());
  EXPECT_EQ(current.id, 3u);
  EXPECT_EQ(current.public_key, third.public_key);
  EXPECT_EQ(Receive(*bob_, *alice_, in_flight), "sent before the rotation");
}

TEST_F(EngineTest, OnlyTheNewestThreeSignedPreKeysAreKept) {
  auto carol = NewDevice("carol", 1);
  Bundle old_bundle = bob_->TakeBundle();  // signed prekey 1
  for (int i = 1; i <= 3; ++i) ASSERT_OK(bob_->engine->RotateSignedPreKey(kNow + i).status());
  EXPECT_EQ(bob_->StoredCount(Space::kSignedPreKey), kSignedPreKeysKept);
  ASSERT_OK(carol->engine->ProcessBundle(bob_->address, old_bundle));
  EXPECT_THAT(bob_->engine->Decrypt(carol->address, Send(*carol, *bob_, "too late")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("carol.1")));
}

}  // namespace
}  // namespace sotto::client::signal
