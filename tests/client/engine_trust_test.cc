// Other users' identity keys: trust on first use or bound to an invite's
// commitment, refusing a changed key or an unknown key on a new device, and
// accepting only the key the user was shown (client-lib/signal/engine_trust.cc).

#include <string>
#include <vector>

#include "client-lib/signal/engine.h"
#include "client-lib/signal/identity_commitment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "tests/client/engine_test_util.h"

namespace sotto::client::signal {
namespace {

using ::sotto::testing::StatusIs;
using storage::Space;
using ::testing::HasSubstr;

TEST_F(EngineTest, IdentityChangeForKnownDeviceIsRefused) {
  Connect();
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "hi")), "hi");
  const std::string bobs_key = bob_->engine->IdentityPublicKey().value();

  // bob.1 again, with a new identity (reinstalled, or a server swapping keys).
  auto impostor = NewDevice("bob", 1);
  EXPECT_THAT(alice_->engine->ProcessBundle(impostor->address, impostor->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bob.1")));
  EXPECT_THAT(alice_->engine->TrustedIdentity(bob_->address), IsOkAndHolds(bobs_key));
  EXPECT_THAT(alice_->engine->TrustedIdentity("bob"), IsOkAndHolds(bobs_key));

  // Nor is a PreKey message from the new identity accepted.
  ASSERT_OK(impostor->engine->ProcessBundle(alice_->address, alice_->TakeBundle()));
  EXPECT_THAT(alice_->engine->Decrypt(impostor->address, Send(*impostor, *alice_, "trust me")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bob.1")));
  // The session with the real Bob still works.
  EXPECT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "still you?")), "still you?");
}

TEST_F(EngineTest, NewDeviceOfAKnownUserWithAnUnknownKeyIsRefused) {
  // A breached server answers with a bundle for "bob.2", keys of its own.
  auto ghost = NewDevice("bob", 2);
  Connect();
  EXPECT_THAT(alice_->engine->ProcessBundle(ghost->address, ghost->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("bob has a new device with an unverified identity key")));
  EXPECT_THAT(alice_->engine->HasSession(ghost->address), IsOkAndHolds(false));
  EXPECT_THAT(alice_->engine->TrustedIdentity(ghost->address), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(alice_->engine->SessionDevices("bob"), IsOkAndHolds(std::vector<uint32_t>{1}));
  EXPECT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "only to you")), "only to you");
}

TEST_F(EngineTest, PreKeyMessageFromANewDeviceWithAnUnknownKeyIsHeld) {
  Connect();
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "hi")), "hi");
  // "bob.2" writes to Alice, who knows Bob (from bob.1) by another key.
  auto ghost = NewDevice("bob", 2);
  ASSERT_OK(ghost->engine->ProcessBundle(alice_->address, alice_->TakeBundle()));
  const size_t prekeys = alice_->StoredCount(Space::kPreKey);
  EXPECT_THAT(alice_->engine->Decrypt(ghost->address, Send(*ghost, *alice_, "it's bob, new phone")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("bob has a new device with an unverified identity key")));
  EXPECT_THAT(alice_->engine->HasSession(ghost->address), IsOkAndHolds(false));
  EXPECT_THAT(alice_->engine->TrustedIdentity(ghost->address), IsOkAndHolds(std::nullopt));
  EXPECT_EQ(alice_->StoredCount(Space::kPreKey), prekeys);
}

TEST_F(EngineTest, NewDeviceWithTheKnownKeyIsTrusted) {
  auto bob2 = NewDeviceSharingIdentity(*bob_, 2);
  Connect();
  ASSERT_OK(alice_->engine->ProcessBundle(bob2->address, bob2->TakeBundle()));
  EXPECT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "to one")), "to one");
  EXPECT_EQ(Receive(*bob2, *alice_, Send(*alice_, *bob2, "to two")), "to two");
  EXPECT_THAT(alice_->engine->TrustedIdentity(bob2->address),
              IsOkAndHolds(bob_->engine->IdentityPublicKey().value()));
  EXPECT_THAT(alice_->engine->TrustedIdentity(Address{"bob", 3}), IsOkAndHolds(std::nullopt));
  // And the other way: bob.2 writes first to someone who knows bob.1.
  auto bob3 = NewDeviceSharingIdentity(*bob_, 3);
  ASSERT_OK(bob3->engine->ProcessBundle(alice_->address, alice_->TakeBundle()));
  EXPECT_EQ(Receive(*alice_, *bob3, Send(*bob3, *alice_, "from three")), "from three");
}

TEST_F(EngineTest, AUserNewToUsIsTrustedOnFirstUseOnAnyDevice) {
  auto carol5 = NewDevice("carol", 5);
  ASSERT_OK(alice_->engine->ProcessBundle(carol5->address, carol5->TakeBundle()));
  EXPECT_EQ(Receive(*carol5, *alice_, Send(*alice_, *carol5, "hello carol")), "hello carol");
}

TEST_F(EngineTest, PreKeyMessageFromChangedIdentityIsFailedPrecondition) {
  Connect();
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "hi")), "hi");
  // Alice reinstalls: same handle and device, new identity; writes to Bob.
  auto new_alice = NewDevice("alice", 1);
  ASSERT_OK(new_alice->engine->ProcessBundle(bob_->address, bob_->TakeBundle()));
  EXPECT_THAT(bob_->engine->Decrypt(new_alice->address, Send(*new_alice, *bob_, "it's me")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("alice.1")));
  EXPECT_THAT(bob_->engine->TrustedIdentity("alice"),
              IsOkAndHolds(alice_->engine->IdentityPublicKey().value()));
}

// ---- an invite's commitment to the therapist's key (issue 22) ----

constexpr absl::string_view kSalt = "3HWDQ8PNVX2K";

// Alice joined with Bob's invite: it committed to Bob's real key.
void ExpectBob(Device& alice, Device& bob) {
  ASSERT_OK(alice.engine->ExpectIdentity(
      "bob", kSalt, IdentityCommitment(kSalt, "bob", bob.engine->IdentityPublicKey().value())));
}

TEST_F(EngineTest, FirstKeyThatIsNotTheInvitedOneIsRefusedAndPending) {
  ExpectBob(*alice_, *bob_);
  // A breached server answers Alice's first bundle request with its own key.
  auto substitute = NewDevice("bob", 1);
  EXPECT_THAT(alice_->engine->ProcessBundle(substitute->address, substitute->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not match the invite you joined with")));
  EXPECT_THAT(alice_->engine->HasSession(substitute->address), IsOkAndHolds(false));
  EXPECT_THAT(alice_->engine->TrustedIdentity("bob"), IsOkAndHolds(std::nullopt));
  ASSERT_OK_AND_ASSIGN(auto pending, alice_->engine->PendingIdentity("bob"));
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->kind, Engine::PendingKind::kNotTheInvitedKey);
  EXPECT_EQ(pending->key, substitute->engine->IdentityPublicKey().value());

  // Nor does a PreKey message under the substitute key get in.
  ASSERT_OK(substitute->engine->ProcessBundle(alice_->address, alice_->TakeBundle()));
  EXPECT_THAT(alice_->engine->Decrypt(substitute->address, Send(*substitute, *alice_, "it's bob")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not match the invite you joined with")));

  // The real Bob's key is trusted, and verified from the first message.
  Connect();
  EXPECT_THAT(alice_->engine->IsVerified("bob"), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(pending, alice_->engine->PendingIdentity("bob"));
  EXPECT_FALSE(pending.has_value());
  EXPECT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "only to you")), "only to you");
}

TEST_F(EngineTest, InvitedKeyIsVerifiedFromItsFirstPreKeyMessage) {
  ExpectBob(*alice_, *bob_);
  ASSERT_OK(bob_->engine->ProcessBundle(alice_->address, alice_->TakeBundle()));
  EXPECT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "welcome")), "welcome");
  EXPECT_THAT(alice_->engine->IsVerified("bob"), IsOkAndHolds(true));
}

TEST_F(EngineTest, CommitmentIsBoundToTheHandleAndTheInvite) {
  const std::string key = bob_->engine->IdentityPublicKey().value();
  const std::string commitment = IdentityCommitment(kSalt, "bob", key);
  EXPECT_EQ(commitment.size(), kCommitmentBytes);
  EXPECT_NE(IdentityCommitment(kSalt, "bobby", key), commitment);
  EXPECT_NE(IdentityCommitment("3HWDQ8PNVX2L", "bob", key), commitment);
  // Another user's key under Bob's invite is refused like any other.
  ASSERT_OK(alice_->engine->ExpectIdentity("carol", kSalt, commitment));
  auto carol = NewDevice("carol", 1);
  EXPECT_THAT(alice_->engine->ProcessBundle(carol->address, carol->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(alice_->engine->ExpectIdentity("bob", kSalt, "short"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EngineTest, InviteForAKnownContactChecksTheKeyWeHave) {
  Connect();
  EXPECT_THAT(alice_->engine->IsVerified("bob"), IsOkAndHolds(false));
  ExpectBob(*alice_, *bob_);
  EXPECT_THAT(alice_->engine->IsVerified("bob"), IsOkAndHolds(true));
  // An invite committing to another key: the one we have loses its
  // verification, and the caller is told.
  auto other = NewDevice("bob", 1);
  EXPECT_THAT(alice_->engine->ExpectIdentity(
                  "bob", kSalt,
                  IdentityCommitment(kSalt, "bob", other->engine->IdentityPublicKey().value())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not match the identity key you already have for bob")));
  EXPECT_THAT(alice_->engine->IsVerified("bob"), IsOkAndHolds(false));
}

// ---- accepting a changed key: only the one the user was shown ----

TEST_F(EngineTest, AcceptingAfterASecondSwapDoesNotAcceptTheSecondKey) {
  Connect();
  const std::string bobs_key = bob_->engine->IdentityPublicKey().value();
  auto first = NewDevice("bob", 1);
  EXPECT_THAT(alice_->engine->ProcessBundle(first->address, first->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const std::string shown = alice_->engine->PendingIdentity("bob").value()->key;
  // After the user compared `shown`, the server swaps in a second key.
  auto second = NewDevice("bob", 1);
  EXPECT_THAT(alice_->engine->ProcessBundle(second->address, second->TakeBundle()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(alice_->engine->AcceptPendingIdentity("bob", shown),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("changed since its safety number was shown")));
  EXPECT_THAT(alice_->engine->TrustedIdentity("bob"), IsOkAndHolds(bobs_key));
  // The key pending now can be accepted, by naming it.
  const std::string now = second->engine->IdentityPublicKey().value();
  ASSERT_OK(alice_->engine->AcceptPendingIdentity("bob", now));
  EXPECT_THAT(alice_->engine->TrustedIdentity("bob"), IsOkAndHolds(now));
}

}  // namespace
}  // namespace sotto::client::signal
