// How SendText reacts to the server's DeviceMismatch and bundles (the repair
// logic Client uses), with real engines and no server: a device the server
// adds to a known user must not be trusted unless it presents the user's key.

#include "client-lib/session_setup.h"

#include <memory>
#include <string>
#include <vector>

#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

using signal::Address;
using signal::Engine;
using ::sotto::testing::StatusIs;
using storage::Space;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kNow = 1'750'000'000'000;

// One device with its own store; `identity_from` shares that device's
// identity key (as a second device of the same person would).
struct Device {
  uint32_t id = 0;
  std::unique_ptr<storage::LocalStore> store;
  std::unique_ptr<Engine> engine;

  static std::unique_ptr<Device> Make(uint32_t id, const Device* identity_from = nullptr) {
    auto d = std::make_unique<Device>();
    d->id = id;
    d->store = storage::NewMemoryStore();
    d->engine = Engine::Open(d->store.get()).value();
    if (identity_from == nullptr) {
      EXPECT_OK(d->engine->CreateIdentity());
    } else {
      std::vector<storage::Write> copy;
      for (Space space : {Space::kIdentity, Space::kMeta}) {
        std::vector<storage::Entry> entries = identity_from->store->Scan(space, "").value();
        for (storage::Entry& e : entries) copy.push_back({space, e.key, e.value});
      }
      EXPECT_OK(d->store->Apply(copy));
    }
    EXPECT_OK(d->engine->RotateSignedPreKey(kNow).status());
    return d;
  }

  // What Keys.GetBundle would return for this device.
  v1::PreKeyBundle Bundle() {
    v1::PreKeyBundle b;
    b.set_device_id(id);
    b.set_registration_id(engine->RegistrationId().value());
    b.set_identity_key(engine->IdentityPublicKey().value());
    auto spk = engine->CurrentSignedPreKey().value();
    b.mutable_signed_prekey()->set_id(spk.id);
    b.mutable_signed_prekey()->set_public_key(spk.public_key);
    b.mutable_signed_prekey()->set_signature(spk.signature);
    auto otk = engine->GeneratePreKeys(1).value().front();
    b.mutable_one_time_prekey()->set_id(otk.id);
    b.mutable_one_time_prekey()->set_public_key(otk.public_key);
    return b;
  }
};

// A key directory that answers with the given devices' bundles, counting calls.
struct Directory {
  std::vector<Device*> devices;
  int calls = 0;
  FetchBundles Fetcher() {
    return [this]() -> absl::StatusOr<v1::GetBundleResponse> {
      ++calls;
      v1::GetBundleResponse response;
      for (Device* d : devices) *response.add_devices() = d->Bundle();
      return response;
    };
  }
};

class ClientFixSessionRepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_store_ = storage::NewMemoryStore();
    alice_ = Engine::Open(alice_store_.get()).value();
    ASSERT_OK(alice_->CreateIdentity());
    therapist_ = Device::Make(1);
    Directory first{{therapist_.get()}};
    ASSERT_OK(StartSessions(*alice_, "dr-rivera", first.Fetcher(), {}));
  }
  std::unique_ptr<storage::LocalStore> alice_store_;
  std::unique_ptr<Engine> alice_;
  std::unique_ptr<Device> therapist_;
};

TEST_F(ClientFixSessionRepairTest, MissingDeviceWithAnUnknownKeyFailsTheRepair) {
  // A breached server: "dr-rivera has device 2 too", and serves its own keys.
  auto ghost = Device::Make(2);
  Directory directory{{therapist_.get(), ghost.get()}};
  v1::DeviceMismatch mismatch;
  mismatch.add_missing_devices(2);
  EXPECT_THAT(RepairSessions(*alice_, "dr-rivera", mismatch, directory.Fetcher()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("dr-rivera has a new device with an unverified identity key")));
  EXPECT_THAT(alice_->SessionDevices("dr-rivera").value(), ElementsAre(1u));
  EXPECT_FALSE(alice_->TrustedIdentity(Address{"dr-rivera", 2}).value().has_value());
  // Asked again (the next send), it is refused again.
  EXPECT_THAT(RepairSessions(*alice_, "dr-rivera", mismatch, directory.Fetcher()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ClientFixSessionRepairTest, StaleDeviceReplacedByAnUnknownKeyIsRefused) {
  auto impostor = Device::Make(1);  // device 1 "re-registered" with new keys
  Directory directory{{impostor.get()}};
  v1::DeviceMismatch mismatch;
  mismatch.add_stale_devices(1);
  EXPECT_THAT(RepairSessions(*alice_, "dr-rivera", mismatch, directory.Fetcher()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("dr-rivera.1")));
  EXPECT_THAT(alice_->SessionDevices("dr-rivera").value(), IsEmpty());
}

TEST_F(ClientFixSessionRepairTest, MissingDeviceWithTheKnownKeyIsAdded) {
  auto second = Device::Make(2, therapist_.get());
  Directory directory{{therapist_.get(), second.get()}};
  v1::DeviceMismatch mismatch;
  mismatch.add_missing_devices(2);
  ASSERT_OK(RepairSessions(*alice_, "dr-rivera", mismatch, directory.Fetcher()));
  EXPECT_THAT(alice_->SessionDevices("dr-rivera").value(), ElementsAre(1u, 2u));
}

TEST_F(ClientFixSessionRepairTest, ExtraDevicesAreForgottenWithoutFetching) {
  Directory directory{{therapist_.get()}};
  v1::DeviceMismatch mismatch;
  mismatch.add_extra_devices(1);
  ASSERT_OK(RepairSessions(*alice_, "dr-rivera", mismatch, directory.Fetcher()));
  EXPECT_THAT(alice_->SessionDevices("dr-rivera").value(), IsEmpty());
  EXPECT_EQ(directory.calls, 0);
}

}  // namespace
}  // namespace sotto::client
