// Linked devices (issue 16) through the real server, real profiles and real
// Signal sessions: a therapist links a second device with a one-time code;
// both are listed; a client's message reaches both; the therapist answers
// from the second and the client takes it with no new-identity notice; a
// code works once; an answer not made with the code is refused; a removed
// device is refused at once; and ghost devices written into the server's
// store by a "breached server" are refused by the client's send.

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client-lib/devices/provisioning.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linked_devices_fixture.h"
#include "profile_pair.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "sotto/devices.h"
#include "store_switch_store.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(LinkedDevicesTest, ASecondDeviceSharesTheConversationBothWays) {
  Greet();
  std::unique_ptr<Client> second = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->handle(), kTherapist);
  EXPECT_EQ(second->device_id(), 2u);
  EXPECT_THAT(Names(*therapist_), ElementsAre("1: *", "2:office desktop"));
  EXPECT_THAT(Names(*second), ElementsAre("1:", "2:office desktop *"));

  // The client writes once; both of the therapist's devices get it.
  ASSERT_OK(client_->SendText(kTherapist, "are you there?").status());
  ASSERT_OK_AND_ASSIGN(SyncStats first, therapist_->Sync());
  EXPECT_EQ(first.received, 1);
  ASSERT_OK_AND_ASSIGN(SyncStats other, second->Sync());
  EXPECT_EQ(other.received, 1);
  EXPECT_THAT(Texts(*second, kClient), ElementsAre("< are you there?"));

  // The therapist answers from the second device; the client takes it as
  // the same person: nothing held, no identity notice.
  ASSERT_OK(second->SendText(kClient, "yes, from the office").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, client_->Sync());
  EXPECT_EQ(got.received, 1);
  EXPECT_EQ(got.held, 0);
  EXPECT_THAT(Texts(*client_, kTherapist),
              ElementsAre("> hello", "< welcome", "> are you there?", "< yes, from the office"));
  // The client's pin of the therapist survived on the new device: its key
  // is the same account key, trusted from the provisioning message.
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo on_second, second->SafetyNumber(kClient));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo on_first, therapist_->SafetyNumber(kClient));
  EXPECT_EQ(on_second.digits, on_first.digits);
  EXPECT_EQ(on_second.verified, on_first.verified);
  EXPECT_FALSE(on_second.changed);
}

TEST_F(LinkedDevicesTest, ACodeWorksOnce) {
  std::unique_ptr<Linking> linking = StartLinking(*therapist_);
  ASSERT_OK(Client::JoinWithLinkCode(Joining(linking->code, dir_.sub("t2"))).status());
  linking->thread.join();
  ASSERT_OK(linking->result);
  EXPECT_THAT(Client::JoinWithLinkCode(Joining(linking->code, dir_.sub("t3"))).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown, used or expired")));
  // Nothing was left of the failed attempt.
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("t3") + "/CURRENT"));
  EXPECT_THAT(Names(*therapist_), ElementsAre("1: *", "2:office desktop"));
}

TEST_F(LinkedDevicesTest, AnAnswerNotMadeWithTheCodeIsRefusedAndNothingIsSent) {
  std::unique_ptr<Linking> linking = StartLinking(*therapist_);
  // The breached server answers the slot itself with its own key: it has
  // the slot id but not the code's secret, so its MAC cannot be right.
  ASSERT_OK_AND_ASSIGN(client::devices::LinkCode code,
                       client::devices::ParseLinkCode(linking->code));
  client::transport::Connection raw(server_->address(), {});
  v1::PostLinkRequestRequest post;
  post.set_slot_id(code.slot_id);
  client::devices::EphemeralKey server_key;
  post.set_ephemeral_public_key(server_key.public_key());
  post.set_mac(
      client::devices::RequestMac({code.slot_id, std::string(16, 'g')}, server_key.public_key()));
  ASSERT_OK(raw.PostLinkRequest(post));
  linking->thread.join();
  EXPECT_THAT(linking->result,
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("substituted")));
  // The slot is closed: nothing waits for the server to fetch.
  EXPECT_THAT(raw.FetchLinkResponse(code.slot_id).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Names(*therapist_), ElementsAre("1: *"));
}

// The relay's per-address limit at 3 calls, then one a second: the new
// device's polling runs into it and must slow down, not fail the linking.
class RateLimitedLinkingTest : public LinkedDevicesTest {
 protected:
  std::vector<std::string> ServerArgs() const override { return {"--rate-link=3/3600"}; }
};

TEST_F(RateLimitedLinkingTest, ANewDeviceBacksOffWhenTheRelayLimitsItAndStillJoins) {
  // The answer is slow to come (the existing device polls every second):
  // the joiner, polling every 20 ms, runs past its limit meanwhile.
  std::unique_ptr<Linking> linking = StartLinking(*therapist_, absl::Seconds(1));
  JoinOptions options = Joining(linking->code, dir_.sub("t2"));
  options.wait_at_most = absl::Seconds(60);
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(options);
  linking->thread.join();
  ASSERT_OK(linking->result);
  ASSERT_OK(joined.status());
  EXPECT_THAT(Names(*therapist_), ElementsAre("1: *", "2:office desktop"));
}

TEST_F(LinkedDevicesTest, ARemovedDeviceIsRefusedAtOnceAndNoLongerGetsMessages) {
  Greet();
  std::unique_ptr<Client> second = LinkSecond(dir_.sub("t2"));
  ASSERT_NE(second, nullptr);
  ASSERT_OK(client_->SendText(kTherapist, "to both").status());
  ASSERT_OK(therapist_->RemoveDevice(2));
  EXPECT_THAT(second->Sync().status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Names(*therapist_), ElementsAre("1: *"));
  // The client's next send learns device 2 is gone and goes to device 1.
  ASSERT_OK(client_->SendText(kTherapist, "only the first").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, therapist_->Sync());
  EXPECT_EQ(got.received, 2);
}

// Plays the breached server: writes a device for the therapist's account
// straight into the server's store (stopped), with `identity_key` and a
// signed prekey signed by `signer`.
absl::Status WriteGhostDevice(const sotto::testing::ServerProcess& server,
                              const std::string& handle, uint32_t device_id,
                              const std::string& identity_key, client::signal::Engine& signer) {
  absl::StatusOr<std::unique_ptr<server::Store>> store = sotto::testing::OpenServerStore(server);
  if (!store.ok()) return store.status();
  std::string key = identity_key;
  if (key.empty()) {
    // The account's own public key, as device 1 published it.
    absl::StatusOr<std::optional<std::string>> first =
        (*store)->Get(server::Table::kPreKeys, server::keys::IdentityKey(handle, 1));
    if (!first.ok()) return first.status();
    if (!first->has_value()) return absl::NotFoundError("no identity key for device 1");
    key = **first;
  }
  absl::StatusOr<client::signal::SignedPreKeyData> spk =
      signer.RotateSignedPreKey(absl::ToUnixMillis(absl::Now()));
  if (!spk.ok()) return spk.status();
  server::records::Device device;
  device.registration_id = 4242;
  device.salt = std::string(16, 's');
  device.secret_hash = std::string(32, 'h');
  device.name = "ghost";
  server::SignedPreKey signed_prekey;
  signed_prekey.id = spk->id;
  signed_prekey.public_key = spk->public_key;
  signed_prekey.signature = spk->signature;
  server::WriteBatch batch;
  batch.Put(server::Table::kDevices, server::keys::Device(handle, device_id),
            server::records::Encode(device));
  batch.Put(server::Table::kPreKeys, server::keys::IdentityKey(handle, device_id), key);
  batch.Put(server::Table::kPreKeys, server::keys::SignedPreKey(handle, device_id),
            server::records::Encode(signed_prekey));
  return (*store)->Write(batch, server::Durability::kSynced);
}

class GhostDeviceTest : public LinkedDevicesTest {
 protected:
  // Writes ghost device 2 into the stopped server's store (the account's
  // own public key when `own_key` is false), restarts the server and tries
  // to send to the therapist; returns the send's status.
  absl::Status SendPastAGhost(bool own_key) {
    auto ghost_store = client::storage::NewMemoryStore();
    auto ghost = client::signal::Engine::Open(ghost_store.get());
    if (!ghost.ok()) return ghost.status();
    if (absl::Status s = (*ghost)->CreateIdentity(); !s.ok()) return s;
    absl::StatusOr<std::string> ghost_key = (*ghost)->IdentityPublicKey();
    if (!ghost_key.ok()) return ghost_key.status();
    client_.reset();
    if (absl::Status s = server_->Stop(); !s.ok()) return s;
    if (absl::Status s = WriteGhostDevice(*server_, kTherapist, 2,
                                          own_key ? *ghost_key : std::string(), **ghost);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = server_->Restart(); !s.ok()) return s;
    OpenOptions reopen;
    reopen.profile_dir = client_dir();
    reopen.passphrase = kPassphrase;
    reopen.server_address = server_->address();
    reopen.auto_lock_after = absl::InfiniteDuration();
    absl::StatusOr<std::unique_ptr<Client>> opened = Client::Open(reopen);
    if (!opened.ok()) return opened.status();
    client_ = *std::move(opened);
    return client_->SendText(kTherapist, "for your eyes only").status();
  }
};

TEST_F(GhostDeviceTest, AGhostWithItsOwnIdentityKeyIsRefused) {
  Greet();
  EXPECT_THAT(SendPastAGhost(/*own_key=*/true),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("new device with an unverified identity key")));
}

TEST_F(GhostDeviceTest, AGhostShowingTheAccountKeyButAForgedPrekeyIsRefused) {
  Greet();
  absl::Status sent = SendPastAGhost(/*own_key=*/false);
  EXPECT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), HasSubstr("signature"));
}

}  // namespace
}  // namespace sotto
