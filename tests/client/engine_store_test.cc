// The Engine on its LocalStore: a decryption's writes commit with the session
// or not at all, our own store's failures are never blamed on the peer, and
// the state survives closing and reopening an encrypted store.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client-lib/signal/engine.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/local_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"
#include "tests/client/engine_test_util.h"

namespace sotto::client::signal {
namespace {

using ::sotto::testing::StatusIs;
using storage::LocalStore;
using storage::Space;
using ::testing::HasSubstr;

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

using ::sotto::testing::TempDir;
namespace fs = std::filesystem;

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
