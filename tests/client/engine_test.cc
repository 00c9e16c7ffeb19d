#include "client-lib/signal/engine.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/local_store.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::client::signal {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using storage::LocalStore;
using storage::Space;
using ::testing::AnyOf;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

// Debian's Abseil has no IsOkAndHolds; StatusOr is not an optional for gmock.
MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

constexpr int64_t kNow = 1'750'000'000'000;

// A LocalStore whose Apply can be made to fail, standing in for a crash or a
// full disk at the worst moment.
class FlakyStore final : public LocalStore {
 public:
  explicit FlakyStore(LocalStore* base) : base_(base) {}
  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    return base_->Get(space, key);
  }
  absl::Status Apply(const std::vector<storage::Write>& writes) override {
    if (fail_next_apply) {
      fail_next_apply = false;
      return absl::UnavailableError("disk unplugged");
    }
    return base_->Apply(writes);
  }
  absl::StatusOr<std::vector<storage::Entry>> Scan(Space space, absl::string_view prefix) override {
    return base_->Scan(space, prefix);
  }
  std::string Blind(absl::string_view identifier) const override {
    return base_->Blind(identifier);
  }
  bool fail_next_apply = false;

 private:
  LocalStore* base_;
};

// A LocalStore that fails the way a disk or our own encryption can: reads of
// one space, or every Apply, return a given error until cleared.
class FaultyStore final : public LocalStore {
 public:
  explicit FaultyStore(LocalStore* base) : base_(base) {}
  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    if (read_fault.has_value() && read_fault->first == space) return read_fault->second;
    return base_->Get(space, key);
  }
  absl::Status Apply(const std::vector<storage::Write>& writes) override {
    if (!apply_fault.ok()) return apply_fault;
    return base_->Apply(writes);
  }
  absl::StatusOr<std::vector<storage::Entry>> Scan(Space space, absl::string_view prefix) override {
    if (read_fault.has_value() && read_fault->first == space) return read_fault->second;
    return base_->Scan(space, prefix);
  }
  std::string Blind(absl::string_view identifier) const override {
    return base_->Blind(identifier);
  }
  std::optional<std::pair<Space, absl::Status>> read_fault;
  absl::Status apply_fault;

 private:
  LocalStore* base_;
};

// One device: its store, its engine, and the one-time prekeys it has not
// yet handed out.
struct Device {
  Address address;
  std::unique_ptr<LocalStore> store;
  std::unique_ptr<Engine> engine;
  std::vector<OneTimePreKeyData> unused_prekeys;

  // The bundle the server would hand out for this device.
  Bundle TakeBundle(bool with_one_time_prekey = true) {
    Bundle b;
    b.device_id = address.device_id;
    b.registration_id = engine->RegistrationId().value();
    b.identity_key = engine->IdentityPublicKey().value();
    SignedPreKeyData spk = engine->CurrentSignedPreKey().value();
    b.signed_prekey_id = spk.id;
    b.signed_prekey_public = spk.public_key;
    b.signed_prekey_signature = spk.signature;
    if (with_one_time_prekey) {
      b.one_time_prekey = unused_prekeys.front();
      unused_prekeys.erase(unused_prekeys.begin());
    }
    return b;
  }

  size_t StoredCount(Space space) { return store->Scan(space, "").value().size(); }
};

// Sets up a device on `store` (a fresh memory store if null).
std::unique_ptr<Device> NewDevice(std::string user, uint32_t device_id,
                                  std::unique_ptr<LocalStore> store = nullptr) {
  auto d = std::make_unique<Device>();
  d->address = Address{std::move(user), device_id};
  d->store = store ? std::move(store) : storage::NewMemoryStore();
  d->engine = Engine::Open(d->store.get()).value();
  EXPECT_OK(d->engine->CreateIdentity());
  EXPECT_OK(d->engine->RotateSignedPreKey(kNow).status());
  d->unused_prekeys = d->engine->GeneratePreKeys(5).value();
  return d;
}

// Another device of `base`'s user that presents the same identity key (as a
// device set up from the first one would).
std::unique_ptr<Device> NewDeviceSharingIdentity(const Device& base, uint32_t device_id) {
  auto d = std::make_unique<Device>();
  d->address = Address{base.address.user, device_id};
  d->store = storage::NewMemoryStore();
  std::vector<storage::Write> copy;
  for (Space space : {Space::kIdentity, Space::kMeta}) {
    std::vector<storage::Entry> entries = base.store->Scan(space, "").value();
    for (storage::Entry& e : entries) {
      copy.push_back(storage::Write{space, std::move(e.key), std::move(e.value)});
    }
  }
  EXPECT_OK(d->store->Apply(copy));
  d->engine = Engine::Open(d->store.get()).value();
  EXPECT_OK(d->engine->RotateSignedPreKey(kNow).status());
  d->unused_prekeys = d->engine->GeneratePreKeys(5).value();
  return d;
}

// Encrypts `text` from `from` to `to`, or fails the test.
Ciphertext Send(Device& from, Device& to, absl::string_view text) {
  auto c = from.engine->Encrypt(to.address, text);
  EXPECT_OK(c.status());
  return c.ok() ? *c : Ciphertext{MessageType::kCiphertext, ""};
}

// The plaintext, or "<error ...>", so an assertion fits on one line.
std::string Receive(Device& at, const Device& from, const Ciphertext& c) {
  auto p = at.engine->Decrypt(from.address, c);
  return p.ok() ? *p : absl::StrCat("<error ", p.status().ToString(), ">");
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = NewDevice("alice", 1);
    bob_ = NewDevice("bob", 1);
  }
  // Alice fetched Bob's bundle and has a session; nothing sent yet.
  void Connect(bool with_one_time_prekey = true) {
    ASSERT_OK(alice_->engine->ProcessBundle(bob_->address, bob_->TakeBundle(with_one_time_prekey)));
  }
  std::unique_ptr<Device> alice_, bob_;
};

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

TEST_F(EngineTest, OneTimePreKeyIsConsumedOnlyAfterFirstDecrypt) {
  ASSERT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "hi");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);  // fetching a bundle consumes nothing locally
  ASSERT_EQ(Receive(*bob_, *alice_, first), "hi");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 4u);
}

TEST_F(EngineTest, BundleWithoutOneTimePreKeyStillWorks) {
  Connect(/*with_one_time_prekey=*/false);
  Ciphertext first = Send(*alice_, *bob_, "no prekeys left on the server");
  EXPECT_EQ(first.type, MessageType::kPreKey);
  EXPECT_EQ(Receive(*bob_, *alice_, first), "no prekeys left on the server");
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  EXPECT_EQ(Receive(*alice_, *bob_, Send(*bob_, *alice_, "fine")), "fine");
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

TEST_F(EngineTest, OnPlaintextWritesLandWithTheSession) {
  Connect();
  Ciphertext c = Send(*alice_, *bob_, "keep me");
  std::string seen;
  ASSERT_OK_AND_ASSIGN(
      std::string plain, bob_->engine->Decrypt(alice_->address, c, [&](absl::string_view p) {
        seen = std::string(p);
        return std::vector<storage::Write>{{Space::kHistory, "m1", std::string(p)}};
      }));
  EXPECT_EQ(plain, "keep me");
  EXPECT_EQ(seen, "keep me");
  ASSERT_OK_AND_ASSIGN(auto stored, bob_->store->Get(Space::kHistory, "m1"));
  EXPECT_EQ(stored, "keep me");
}

TEST_F(EngineTest, FailedCommitKeepsNeitherPlaintextNorSessionSoTheMessageCanBeRetried) {
  FlakyStore flaky(bob_->store.get());
  ASSERT_OK_AND_ASSIGN(auto bob_engine, Engine::Open(&flaky));
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "first");
  auto save = [](absl::string_view p) {
    return std::vector<storage::Write>{{Space::kHistory, std::string(p), std::string(p)}};
  };
  flaky.fail_next_apply = true;
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, first, save),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(bob_->store->Get(Space::kHistory, "first"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(bob_engine->HasSession(alice_->address), IsOkAndHolds(false));
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  // Redelivered after the failure: not a duplicate, decrypts, and is saved.
  ASSERT_OK_AND_ASSIGN(std::string plain, bob_engine->Decrypt(alice_->address, first, save));
  EXPECT_EQ(plain, "first");
  EXPECT_THAT(bob_->store->Get(Space::kHistory, "first"), IsOkAndHolds(std::string("first")));

  // Same for a message on an established session.
  Ciphertext second = Send(*alice_, *bob_, "second");
  flaky.fail_next_apply = true;
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, second, save),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(bob_->store->Get(Space::kHistory, "second"), IsOkAndHolds(std::nullopt));
  ASSERT_OK_AND_ASSIGN(plain, bob_engine->Decrypt(alice_->address, second, save));
  EXPECT_EQ(plain, "second");
}

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

TEST_F(EngineTest, FailingPlaintextHandlerStoresNothingAndTheMessageCanBeDecryptedAgain) {
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "first");
  auto refuse = [](absl::string_view) -> absl::StatusOr<std::vector<storage::Write>> {
    return absl::DataLossError("history record is corrupt");
  };
  auto save = [](absl::string_view p) {
    return std::vector<storage::Write>{{Space::kHistory, std::string(p), std::string(p)}};
  };
  // The handler's status comes back as is (not ALREADY_EXISTS or an
  // "undecryptable" code of the engine's own), and nothing is committed.
  EXPECT_THAT(bob_->engine->Decrypt(alice_->address, first, refuse),
              StatusIs(absl::StatusCode::kDataLoss, "history record is corrupt"));
  EXPECT_THAT(bob_->engine->HasSession(alice_->address), IsOkAndHolds(false));
  EXPECT_THAT(bob_->engine->TrustedIdentity(alice_->address), IsOkAndHolds(std::nullopt));
  EXPECT_EQ(bob_->StoredCount(Space::kPreKey), 5u);
  ASSERT_OK_AND_ASSIGN(std::string plain, bob_->engine->Decrypt(alice_->address, first, save));
  EXPECT_EQ(plain, "first");

  // On an established session too: no duplicate on redelivery.
  Ciphertext second = Send(*alice_, *bob_, "second");
  EXPECT_THAT(bob_->engine->Decrypt(alice_->address, second, refuse),
              StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_OK_AND_ASSIGN(plain, bob_->engine->Decrypt(alice_->address, second, save));
  EXPECT_EQ(plain, "second");
  EXPECT_THAT(bob_->store->Get(Space::kHistory, "second"), IsOkAndHolds(std::string("second")));
}

TEST_F(EngineTest, LocalStoreFailuresWhileDecryptingAreInternalOrUnavailable) {
  FaultyStore faulty(bob_->store.get());
  ASSERT_OK_AND_ASSIGN(auto bob_engine, Engine::Open(&faulty));
  Connect();
  Ciphertext first = Send(*alice_, *bob_, "first");
  // Our own records failing their integrity check is not the peer's doing:
  // never DATA_LOSS / INVALID_ARGUMENT / NOT_FOUND, which mean "drop it".
  for (Space space :
       {Space::kSession, Space::kPreKey, Space::kSignedPreKey, Space::kTrust, Space::kIdentity}) {
    faulty.read_fault = {space, absl::DataLossError("AEAD tag mismatch")};
    EXPECT_THAT(bob_engine->Decrypt(alice_->address, first),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("AEAD tag mismatch")))
        << storage::SpaceName(space);
  }
  faulty.read_fault = {Space::kSession, absl::UnavailableError("disk busy")};
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, first),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk busy")));
  faulty.read_fault.reset();
  faulty.apply_fault = absl::DataLossError("RocksDB corruption");
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, first),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("RocksDB corruption")));
  faulty.apply_fault = absl::InvalidArgumentError("RocksDB IO error");
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, first), StatusIs(absl::StatusCode::kInternal));
  faulty.apply_fault = absl::OkStatus();
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, first), IsOkAndHolds(std::string("first")));

  // A damaged session record of our own is INTERNAL too.
  ASSERT_OK(bob_->store->Apply(
      {{Space::kSession, bob_->store->Blind("alice") + std::string("\0\0\0\1", 4), "xy"}}));
  EXPECT_THAT(bob_engine->Decrypt(alice_->address, Send(*alice_, *bob_, "second")),
              StatusIs(absl::StatusCode::kInternal));
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

// ---- with the encrypted store ----

using ::sotto::testing::TempDir;

TEST(EngineOnEncryptedStoreTest, StateSurvivesClosingAndReopeningTheStore) {
  TempDir dir;
  const std::string db = dir.sub("bob");
  auto alice = NewDevice("alice.handle", 1);
  auto bob = NewDevice(
      "bob.handle", 1,
      storage::CreateEncryptedStore(db, "bob's passphrase", storage::KdfLimits::ForTesting())
          .value());
  ASSERT_OK(alice->engine->ProcessBundle(bob->address, bob->TakeBundle()));
  ASSERT_EQ(Receive(*bob, *alice, Send(*alice, *bob, "before")), "before");
  Ciphertext in_flight = Send(*alice, *bob, "while closed");
  const std::string identity = bob->engine->IdentityPublicKey().value();

  bob->engine.reset();
  bob->store.reset();
  bob->store = storage::OpenEncryptedStore(db, "bob's passphrase").value();
  ASSERT_OK_AND_ASSIGN(bob->engine, Engine::Open(bob->store.get()));

  EXPECT_THAT(bob->engine->IdentityPublicKey(), IsOkAndHolds(identity));
  EXPECT_EQ(Receive(*bob, *alice, in_flight), "while closed");
  EXPECT_EQ(Receive(*alice, *bob, Send(*bob, *alice, "after")), "after");
  EXPECT_THAT(bob->engine->Decrypt(alice->address, in_flight),
              StatusIs(absl::StatusCode::kAlreadyExists));

  // Nothing on disk names Alice or shows a message.
  bob->engine.reset();
  bob->store.reset();
  for (const auto& e : fs::recursive_directory_iterator(db)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("alice.handle"), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find("while closed"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace sotto::client::signal
