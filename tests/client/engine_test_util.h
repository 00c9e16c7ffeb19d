#ifndef SOTTO_TESTS_CLIENT_ENGINE_TEST_UTIL_H_
#define SOTTO_TESTS_CLIENT_ENGINE_TEST_UTIL_H_

// What the Engine tests share (engine_keys_test, engine_sessions_test,
// engine_trust_test, engine_store_test): devices on memory stores, sending
// and receiving between them, and a fixture with Alice and Bob.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/local_store.h"
#include "testing/status_matchers.h"

namespace sotto::client::signal {

using ::sotto::testing::IsOkAndHolds;

inline constexpr int64_t kNow = 1'750'000'000'000;

// One device: its store, its engine, and the one-time prekeys it has not
// yet handed out.
struct Device {
  Address address;
  std::unique_ptr<storage::LocalStore> store;
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

  size_t StoredCount(storage::Space space) { return store->Scan(space, "").value().size(); }
};

// Sets up a device on `store` (a fresh memory store if null).
inline std::unique_ptr<Device> NewDevice(std::string user, uint32_t device_id,
                                         std::unique_ptr<storage::LocalStore> store = nullptr) {
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
inline std::unique_ptr<Device> NewDeviceSharingIdentity(const Device& base, uint32_t device_id) {
  auto d = std::make_unique<Device>();
  d->address = Address{base.address.user, device_id};
  d->store = storage::NewMemoryStore();
  std::vector<storage::Write> copy;
  for (storage::Space space : {storage::Space::kIdentity, storage::Space::kMeta}) {
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
inline Ciphertext Send(Device& from, Device& to, absl::string_view text) {
  auto c = from.engine->Encrypt(to.address, text);
  EXPECT_OK(c.status());
  return c.ok() ? *c : Ciphertext{MessageType::kCiphertext, ""};
}

// The plaintext, or "<error ...>", so an assertion fits on one line.
inline std::string Receive(Device& at, const Device& from, const Ciphertext& c) {
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

}  // namespace sotto::client::signal

#endif  // SOTTO_TESTS_CLIENT_ENGINE_TEST_UTIL_H_
