// An envelope's sender is stamped by the server; a breached one could stamp
// a "handle" carrying a terminal escape or a bidi control on a real message
// (issue 22: input from the server is untrusted too). ProcessEnvelope drops
// such an envelope before it reaches the history or the app, with real
// engines and a real PreKey message that would otherwise decrypt.

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client-lib/incoming/receiver.h"
#include "client-lib/session_setup.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

using signal::Address;
using signal::Engine;
using ::sotto::testing::IsOkAndHolds;

constexpr int64_t kNow = 1'750'000'000'000;

class EnvelopeSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The receiving device, inside the session the Client would run.
    auto store = storage::NewMemoryStore();
    std::unique_ptr<Engine> engine = Engine::Open(store.get()).value();
    ASSERT_TRUE(engine->CreateIdentity().ok());
    ASSERT_TRUE(engine->RotateSignedPreKey(kNow).ok());
    v1::PreKeyBundle bundle;
    bundle.set_device_id(1);
    bundle.set_registration_id(engine->RegistrationId().value());
    bundle.set_identity_key(engine->IdentityPublicKey().value());
    auto spk = engine->CurrentSignedPreKey().value();
    bundle.mutable_signed_prekey()->set_id(spk.id);
    bundle.mutable_signed_prekey()->set_public_key(spk.public_key);
    bundle.mutable_signed_prekey()->set_signature(spk.signature);
    Profile profile;
    profile.set_handle("sam-client");
    profile.set_device_id(1);
    session_ = std::make_unique<ProfileSession>(std::move(store), std::move(engine), profile,
                                                "127.0.0.1:1", transport::TlsConfig{}, nullptr);
    // The real sender, who starts a session from that bundle.
    sender_store_ = storage::NewMemoryStore();
    sender_ = Engine::Open(sender_store_.get()).value();
    ASSERT_TRUE(sender_->CreateIdentity().ok());
    ASSERT_TRUE(sender_->ProcessBundle(Address{"sam-client", 1}, ToBundle(bundle)).ok());
  }

  // A real PreKey message from the sender, stamped with `sender` as the server
  // would stamp it.
  v1::Envelope EnvelopeFrom(const std::string& sender) {
    signal::Ciphertext c = sender_->Encrypt(Address{"sam-client", 1}, "hello").value();
    v1::Envelope e;
    e.set_seq(7);
    e.set_sender(sender);
    e.set_sender_device(1);
    e.set_type(v1::ENVELOPE_TYPE_PREKEY);
    e.set_ciphertext(c.body);
    e.set_message_id(std::string(16, 'm'));
    e.set_server_time_ms(kNow);
    return e;
  }

  absl::StatusOr<bool> Process(const v1::Envelope& e) {
    absl::MutexLock lock(&session_->mu);
    std::vector<ListenEvent> shown;
    PageReceipts receipts;
    absl::StatusOr<bool> ack = ProcessEnvelope(*session_, e, stats_, &shown, receipts);
    absl::Status queued = QueueReceipts(*session_, receipts);
    if (!queued.ok()) return queued;
    delivered_.reset();
    for (const ListenEvent& event : shown) {
      if (const Message* m = std::get_if<Message>(&event)) delivered_ = *m;
    }
    return ack;
  }

  std::unique_ptr<ProfileSession> session_;
  std::unique_ptr<storage::LocalStore> sender_store_;
  std::unique_ptr<Engine> sender_;
  SyncStats stats_;
  std::optional<Message> delivered_;
};

TEST_F(EnvelopeSenderTest, AValidSenderIsDelivered) {
  EXPECT_THAT(Process(EnvelopeFrom("dr-rivera")), IsOkAndHolds(true));
  EXPECT_EQ(stats_.received, 1);
  ASSERT_TRUE(delivered_.has_value());
  EXPECT_EQ(delivered_->peer, "dr-rivera");
}

TEST_F(EnvelopeSenderTest, ASenderWithAnEscapeIsDroppedAckedAndCounted) {
  EXPECT_THAT(Process(EnvelopeFrom("dr-rivera\x1b]0;pwned\x07")), IsOkAndHolds(true));
  EXPECT_EQ(stats_.received, 0);
  EXPECT_EQ(stats_.undecryptable, 1);
  EXPECT_FALSE(delivered_.has_value());
}

TEST_F(EnvelopeSenderTest, ASenderWithABidiMarkIsDroppedToo) {
  EXPECT_THAT(Process(EnvelopeFrom("dr-rivera\xD8\x9C")), IsOkAndHolds(true));  // U+061C
  EXPECT_EQ(stats_.received, 0);
  EXPECT_EQ(stats_.undecryptable, 1);
  EXPECT_FALSE(delivered_.has_value());
}

}  // namespace
}  // namespace sotto::client
