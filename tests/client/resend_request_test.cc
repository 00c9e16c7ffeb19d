// Asking for a lost message again (a RESEND receipt, docs/PROTOCOL.md
// "Asking for a message again"), on the side that is asked: a therapist's
// device, inside the session the Client runs, receives real Signal messages
// from real sender engines. What it queues to send again (kOutbox rows of
// kResendOwnMessages) is what a contact's request can make it send:
//  - a request for a message we sent to that contact is queued;
//  - a message already sent again kMaxResends (3) times is not: the fourth
//    request is not honoured;
//  - a request from someone who was not the message's recipient is ignored
//    (a contact can only ask for what was sent to them);
//  - one request naming a message many times queues it once (otherwise one
//    receipt would spend the whole cap at once).

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "client-lib/content/codec.h"
#include "client-lib/history/history_book.h"
#include "client-lib/history/outbox.h"
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
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kNow = 1'750'000'000'000;
constexpr char kTherapist[] = "dr-rivera";

class ResendRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::NewMemoryStore();
    std::unique_ptr<Engine> engine = Engine::Open(store.get()).value();
    ASSERT_TRUE(engine->CreateIdentity().ok());
    ASSERT_TRUE(engine->RotateSignedPreKey(kNow).ok());
    bundle_.set_device_id(1);
    bundle_.set_registration_id(engine->RegistrationId().value());
    bundle_.set_identity_key(engine->IdentityPublicKey().value());
    auto spk = engine->CurrentSignedPreKey().value();
    bundle_.mutable_signed_prekey()->set_id(spk.id);
    bundle_.mutable_signed_prekey()->set_public_key(spk.public_key);
    bundle_.mutable_signed_prekey()->set_signature(spk.signature);
    Profile profile;
    profile.set_handle(kTherapist);
    profile.set_device_id(1);
    session_ = std::make_unique<ProfileSession>(std::move(store), std::move(engine), profile,
                                                "127.0.0.1:1", transport::TlsConfig{}, nullptr);
  }

  // A contact's device: a real engine with a session to the therapist.
  struct Contact {
    std::unique_ptr<storage::LocalStore> store;
    std::unique_ptr<Engine> engine;
  };
  Contact NewContact() {
    Contact c;
    c.store = storage::NewMemoryStore();
    c.engine = Engine::Open(c.store.get()).value();
    EXPECT_TRUE(c.engine->CreateIdentity().ok());
    EXPECT_TRUE(c.engine->ProcessBundle(Address{kTherapist, 1}, ToBundle(bundle_)).ok());
    return c;
  }

  // Stores a message the therapist sent to `peer`, already sent again
  // `resends` times; returns its id.
  std::string SentTo(const std::string& peer, uint32_t resends) {
    StoredMessage stored;
    stored.set_message_id(content::NewMessageId());
    stored.set_peer(peer);
    stored.set_outgoing(true);
    stored.set_state(static_cast<int32_t>(DeliveryState::kDelivered));
    stored.set_server_time_ms(kNow);
    stored.set_resends(resends);
    stored.mutable_content()->set_sent_at_ms(kNow);
    stored.mutable_content()->mutable_text()->set_body("see you thursday");
    absl::MutexLock lock(&session_->mu);
    auto writes = history::HistoryWrites(session_->store(), stored);
    EXPECT_TRUE(writes.ok()) << writes.status();
    EXPECT_TRUE(session_->store().Apply(*writes).ok());
    return stored.message_id();
  }

  // `from` (stamped by the server as `handle`) asks for `ids` again.
  void AskAgain(Contact& from, const std::string& handle, const std::vector<std::string>& ids) {
    v1::content::Content content;
    content.set_sent_at_ms(kNow);
    content.mutable_receipt()->set_type(v1::content::Receipt::RESEND);
    for (const std::string& id : ids) content.mutable_receipt()->add_message_ids(id);
    signal::Ciphertext c =
        from.engine->Encrypt(Address{kTherapist, 1}, content::EncodeContent(content)).value();
    v1::Envelope e;
    e.set_seq(++seq_);
    e.set_sender(handle);
    e.set_sender_device(1);
    e.set_type(c.type == signal::MessageType::kPreKey ? v1::ENVELOPE_TYPE_PREKEY
                                                      : v1::ENVELOPE_TYPE_CIPHERTEXT);
    e.set_ciphertext(c.body);
    e.set_message_id(content::NewMessageId());
    e.set_server_time_ms(kNow);
    absl::MutexLock lock(&session_->mu);
    std::vector<ListenEvent> shown;
    PageReceipts receipts;
    EXPECT_THAT(ProcessEnvelope(*session_, e, stats_, &shown, receipts), IsOkAndHolds(true));
    EXPECT_TRUE(QueueReceipts(*session_, receipts).ok());
    EXPECT_THAT(shown, IsEmpty()) << "a request to send again shows the therapist nothing";
  }

  // Every message id queued to be sent again, per request row, for `peer`.
  std::vector<std::string> QueuedAgainFor(const std::string& peer) {
    absl::MutexLock lock(&session_->mu);
    auto rows = session_->store().Scan(storage::Space::kOutbox, "");
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    for (const auto& row : *rows) {
      PendingReceipts pending;
      EXPECT_TRUE(pending.ParseFromString(row.value));
      if (pending.type() != history::kResendOwnMessages || pending.peer() != peer) continue;
      for (const std::string& id : pending.message_ids()) ids.push_back(id);
    }
    return ids;
  }

  v1::PreKeyBundle bundle_;
  std::unique_ptr<ProfileSession> session_;
  SyncStats stats_;
  int64_t seq_ = 0;
};

TEST_F(ResendRequestTest, TheRecipientsRequestIsQueued) {
  Contact sam = NewContact();
  const std::string id = SentTo("sam", 0);
  AskAgain(sam, "sam", {id});
  EXPECT_THAT(QueuedAgainFor("sam"), ElementsAre(id));
}

TEST_F(ResendRequestTest, AMessageSentAgainThreeTimesIsNotSentAFourthTime) {
  Contact sam = NewContact();
  const std::string third = SentTo("sam", history::kMaxResends - 1);
  const std::string fourth = SentTo("sam", history::kMaxResends);
  AskAgain(sam, "sam", {third, fourth});
  EXPECT_THAT(QueuedAgainFor("sam"), ElementsAre(third));
  AskAgain(sam, "sam", {fourth});  // asking again changes nothing
  EXPECT_THAT(QueuedAgainFor("sam"), ElementsAre(third));
}

TEST_F(ResendRequestTest, SomeoneWhoWasNotTheRecipientIsIgnored) {
  Contact sam = NewContact();
  Contact kai = NewContact();
  const std::string to_sam = SentTo("sam", 0);
  const std::string to_kai = SentTo("kai", 0);
  AskAgain(kai, "kai", {to_sam, to_kai});
  EXPECT_THAT(QueuedAgainFor("kai"), ElementsAre(to_kai));
  EXPECT_THAT(QueuedAgainFor("sam"), IsEmpty()) << "nothing goes to sam that sam did not ask for";
  // Nor may a contact ask for a message someone sent us.
  AskAgain(sam, "sam", {to_kai});
  EXPECT_THAT(QueuedAgainFor("sam"), IsEmpty());
}

TEST_F(ResendRequestTest, ARequestNamingAMessageManyTimesQueuesItOnce) {
  Contact sam = NewContact();
  const std::string id = SentTo("sam", 0);
  AskAgain(sam, "sam", {id, id, id, id, id});
  EXPECT_THAT(QueuedAgainFor("sam"), ElementsAre(id));
}

}  // namespace
}  // namespace sotto::client
