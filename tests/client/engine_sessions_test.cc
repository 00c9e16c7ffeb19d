// Sessions: X3DH from a bundle, the Double Ratchet both ways, duplicates,
// tampering and bad input (client-lib/signal/engine_sessions.cc).

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "tests/client/engine_test_util.h"

namespace sotto::client::signal {
namespace {

using ::sotto::testing::StatusIs;
using storage::Space;
using ::testing::AnyOf;
using ::testing::HasSubstr;

TEST_F(EngineTest, FirstContactThenConversationBothWays) {
  Connect();
  EXPECT_THAT(alice_->engine->HasSession(bob_->address), IsOkAndHolds(true));
  Ciphertext first = Send(*alice_, *bob_, "hello, is Tuesday still ok?");
  EXPECT_EQ(first.type, MessageType::kPreKey);
  EXPECT_EQ(Receive(*bob_, *alice_, first), "hello, is Tuesday still ok?");
  EXPECT_THAT(bob_->engine->HasSession(alice_->address), IsOkAndHolds(true));

  Ciphertext reply = Send(*bob_, *alice_, "yes, 5pm");
  EXPECT_EQ(reply.type, MessageType::kCiphertext);
  EXPECT_EQ(Receive(*alice_, *bob_, reply), "yes, 5pm");

  Ciphertext next = Send(*alice_, *bob_, "thanks");
  EXPECT_EQ(next.type, MessageType::kCiphertext);
  EXPECT_EQ(Receive(*bob_, *alice_, next), "thanks");

  ASSERT_OK_AND_ASSIGN(auto trusted, bob_->engine->TrustedIdentity("alice"));
  EXPECT_EQ(trusted, alice_->engine->IdentityPublicKey().value());
}

TEST_F(EngineTest, TwoHundredMessagesAlternatingDirections) {
  Connect();
  for (int i = 0; i < 200; ++i) {
    Device& from = (i % 2 == 0) ? *alice_ : *bob_;
    Device& to = (i % 2 == 0) ? *bob_ : *alice_;
    const std::string text = absl::StrCat("message ", i, std::string(i, '.'));
    ASSERT_EQ(Receive(to, from, Send(from, to, text)), text) << i;
  }
}

TEST_F(EngineTest, OutOfOrderDeliveryDecryptsAll) {
  Connect();
  // Both while the session is new (PreKey messages) and once established.
  for (int round = 0; round < 2; ++round) {
    std::vector<Ciphertext> sent;
    for (int i = 1; i <= 5; ++i) sent.push_back(Send(*alice_, *bob_, absl::StrCat(round, ":", i)));
    EXPECT_EQ(sent[0].type, round == 0 ? MessageType::kPreKey : MessageType::kCiphertext);
    for (int i : {5, 3, 1, 2, 4}) {
      EXPECT_EQ(Receive(*bob_, *alice_, sent[i - 1]), absl::StrCat(round, ":", i));
    }
    EXPECT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "ack")), "ack");
  }
}

TEST_F(EngineTest, RedeliveredMessageIsAlreadyExists) {
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "one");
  ASSERT_EQ(Receive(*bob_, *alice_, first), "one");
  EXPECT_THAT(bob_->engine->Decrypt(alice_->address, first),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("alice.1")));
  ASSERT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "two")), "two");
  Ciphertext third = Send(*alice_, *bob_, "three");
  ASSERT_EQ(Receive(*bob_, *alice_, third), "three");
  EXPECT_THAT(bob_->engine->Decrypt(alice_->address, third),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // The session goes on.
  EXPECT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "four")), "four");
}

TEST_F(EngineTest, BundleWithoutOneTimePreKeyStillWorks) {
  Connect(/*with_one_time_prekey=*/false);
  Ciphertext first = Send(*alice_, *bob_, "no prekeys left on the server");
  EXPECT_EQ(first.type, MessageType::kPreKey);
  EXPECT_EQ(Receive(*bob_, *alice_, first), "no prekeys left on the server");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  EXPECT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "fine")), "fine");
}

TEST_F(EngineTest, TamperedCiphertextFailsAndSessionStillWorks) {
  Connect();
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "setup")), "setup");
  ASSERT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "setup back")), "setup back");
  Ciphertext real = Send(*alice_, *bob_, "the real message");
  for (size_t pos : {real.body.size() - 1, real.body.size() - 12, size_t{40}}) {
    Ciphertext forged = real;
    forged.body[pos] ^= 0x01;
    EXPECT_THAT(
        bob_->engine->Decrypt(alice_->address, forged),
        AnyOf(StatusIs(absl::StatusCode::kDataLoss), StatusIs(absl::StatusCode::kInvalidArgument)))
        << pos;
  }
  EXPECT_THAT(bob_->engine->Decrypt(alice_->address, Ciphertext{MessageType::kCiphertext, "junk"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Receive(*bob_, *alice_, real), "the real message");
  EXPECT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "still here")), "still here");
}

TEST_F(EngineTest, BadBundlesAreInvalidArgument) {
  Bundle good = bob_->TakeBundle();
  Bundle bad_sig = good;
  bad_sig.signed_prekey_signature[10] ^= 0x40;
  EXPECT_THAT(alice_->engine->ProcessBundle(bob_->address, bad_sig),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bob.1")));
  Bundle bad_key = good;
  bad_key.identity_key = "short";
  EXPECT_THAT(alice_->engine->ProcessBundle(bob_->address, bad_key),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Bundle wrong_device = good;
  wrong_device.device_id = 7;
  EXPECT_THAT(alice_->engine->ProcessBundle(bob_->address, wrong_device),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(alice_->engine->HasSession(bob_->address), IsOkAndHolds(false));
  EXPECT_THAT(alice_->engine->TrustedIdentity("bob"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(alice_->engine->TrustedIdentity(bob_->address), IsOkAndHolds(std::nullopt));
  EXPECT_OK(alice_->engine->ProcessBundle(bob_->address, good));
}

TEST_F(EngineTest, NoSessionIsNotFound) {
  EXPECT_THAT(alice_->engine->Encrypt(bob_->address, "hi"), StatusIs(absl::StatusCode::kNotFound));
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "hi");
  ASSERT_EQ(Receive(*bob_, *alice_, first), "hi");
  Ciphertext reply = Send(*bob_, *alice_, "hello");
  auto carol = NewDevice("carol", 1);
  EXPECT_THAT(carol->engine->Decrypt(bob_->address, reply),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("bob.1")));
}

TEST_F(EngineTest, SessionDevicesAndDeleteSession) {
  auto bob7 = NewDeviceSharingIdentity(*bob_, 7);
  auto bob300 = NewDeviceSharingIdentity(*bob_, 300);
  Connect();
  ASSERT_OK(alice_->engine->ProcessBundle(bob300->address, bob300->TakeBundle()));
  ASSERT_OK(alice_->engine->ProcessBundle(bob7->address, bob7->TakeBundle()));
  EXPECT_THAT(alice_->engine->SessionDevices("bob"),
              IsOkAndHolds(std::vector<uint32_t>{1, 7, 300}));
  EXPECT_THAT(alice_->engine->SessionDevices("bobby"), IsOkAndHolds(std::vector<uint32_t>{}));

  ASSERT_OK(alice_->engine->DeleteSession(bob_->address));
  EXPECT_THAT(alice_->engine->HasSession(bob_->address), IsOkAndHolds(false));
  EXPECT_THAT(alice_->engine->SessionDevices("bob"), IsOkAndHolds(std::vector<uint32_t>{7, 300}));
  // Deleting the session keeps the trust: a new bundle with the same identity works.
  EXPECT_OK(alice_->engine->ProcessBundle(bob_->address, bob_->TakeBundle()));
  EXPECT_OK(alice_->engine->DeleteSession(Address{"nobody", 3}));
  EXPECT_THAT(alice_->engine->HasSession(Address{"", 1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(alice_->engine->HasSession(Address{"bob", 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EngineTest, RemoteRegistrationIdComesFromTheSession) {
  EXPECT_THAT(alice_->engine->RemoteRegistrationId(bob_->address),
              StatusIs(absl::StatusCode::kNotFound));
  Connect();
  EXPECT_THAT(alice_->engine->RemoteRegistrationId(bob_->address),
              IsOkAndHolds(bob_->engine->RegistrationId().value()));
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "hi")), "hi");
  EXPECT_THAT(bob_->engine->RemoteRegistrationId(alice_->address),
              IsOkAndHolds(alice_->engine->RegistrationId().value()));
}

TEST_F(EngineTest, ConcurrentEncryptsOnOneEngineAllDecrypt) {
  Connect();
  ASSERT_EQ(Receive(*bob_, *alice_, Send(*alice_, *bob_, "hi")), "hi");
  ASSERT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "hi back")), "hi back");
  std::vector<std::vector<Ciphertext>> sent(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto c = alice_->engine->Encrypt(bob_->address, absl::StrCat(t, "/", i));
        ASSERT_OK(c.status());
        sent[t].push_back(*c);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 25; ++i)
      EXPECT_EQ(Receive(*bob_, *alice_, sent[t][i]), absl::StrCat(t, "/", i));
  }
}

}  // namespace
}  // namespace sotto::client::signal
