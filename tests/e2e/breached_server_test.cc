// End to end, issue 22: a breached server cannot stand in the middle. The
// real sotto-server on loopback with real RocksDB; the client (sam) talks to
// it through a RewritingProxy that plays the breached server — it swaps its
// own keys into dr-rivera's bundles, claims dr-rivera's device is stale so
// that sam fetches them again, and makes up envelopes "from dr-rivera". The
// therapist talks to the server directly. Both sides are the unmodified
// Client with real libsignal sessions.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "client-lib/content/codec.h"
#include "client-lib/session_setup.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "sotto/invite.h"
#include "testing/rewriting_proxy.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::Party;
using ::sotto::testing::RawConnection;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::RegisterWith;
using ::sotto::testing::RewritingProxy;
using ::sotto::testing::ServerProcess;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGetBundle[] = "/sotto.v1.Keys/GetBundle";
constexpr char kSend[] = "/sotto.v1.Messages/Send";
constexpr char kFetch[] = "/sotto.v1.Messages/Fetch";

// A key pair the breached server holds and passes off as dr-rivera's.
struct Impostor {
  std::unique_ptr<client::storage::LocalStore> store = client::storage::NewMemoryStore();
  std::unique_ptr<client::signal::Engine> engine;

  Impostor() {
    engine = client::signal::Engine::Open(store.get()).value();
    EXPECT_OK(engine->CreateIdentity());
    EXPECT_OK(engine->RotateSignedPreKey(absl::ToUnixMillis(absl::Now())).status());
  }
  std::string key() const { return engine->IdentityPublicKey().value(); }

  // `real` with every key replaced by ours (ids and registration kept).
  v1::PreKeyBundle Disguise(const v1::PreKeyBundle& real) {
    v1::PreKeyBundle out = real;
    out.set_identity_key(key());
    client::signal::SignedPreKeyData spk = engine->CurrentSignedPreKey().value();
    out.mutable_signed_prekey()->set_id(spk.id);
    out.mutable_signed_prekey()->set_public_key(spk.public_key);
    out.mutable_signed_prekey()->set_signature(spk.signature);
    out.clear_one_time_prekey();
    return out;
  }
};

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

class BreachedServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(rivera_, RegisterTherapist(*server_, "dr-rivera"));
    proxy_ = std::make_unique<RewritingProxy>(server_->address());
  }

  // Sam registers through the breached server with `code` as typed.
  void SamJoins(const std::string& code) {
    RegisterOptions options;
    options.server_address = proxy_->address();
    options.handle = "sam";
    options.role = Role::kClient;
    options.invite_code = code;
    ASSERT_OK_AND_ASSIGN(sam_, RegisterWith(options));
  }
  std::string MakeInvite(bool with_key_commitment) {
    absl::StatusOr<Invite> invite = rivera_.client->CreateInvite();
    EXPECT_OK(invite.status());
    if (!invite.ok()) return "";
    if (with_key_commitment) return invite->code;
    // What an older therapist client handed out: the server's code alone.
    return FormatInviteCode(InviteCode{ParseInviteCode(invite->code)->server_code, ""});
  }

  // From now on every bundle of dr-rivera that sam fetches carries `impostor`'s keys.
  void SubstituteBundles(Impostor& impostor) {
    proxy_->OnResponse(kGetBundle, [&impostor](grpc::ByteBuffer& out) {
      auto response = RewritingProxy::Parse<v1::GetBundleResponse>(out);
      for (v1::PreKeyBundle& bundle : *response.mutable_devices()) {
        bundle = impostor.Disguise(bundle);
      }
      out = RewritingProxy::Serialize(response);
    });
  }
  // The next Send is answered "device 1 of the recipient is stale", so the
  // client forgets its session and fetches the bundles again.
  void ClaimStaleDeviceOnce() {
    auto fired = std::make_shared<std::atomic<bool>>(false);
    proxy_->Intercept(kSend, [fired](const grpc::ByteBuffer& in) -> std::optional<grpc::Status> {
      if (fired->exchange(true)) return std::nullopt;
      v1::DeviceMismatch mismatch;
      // As the real server does (the client refuses a mismatch about anyone else).
      mismatch.set_user(RewritingProxy::Parse<v1::SendRequest>(in).recipient());
      mismatch.add_stale_devices(1);
      google::rpc::Status details;
      details.set_code(grpc::StatusCode::FAILED_PRECONDITION);
      details.set_message("stale devices");
      details.add_details()->PackFrom(mismatch);
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "stale devices",
                          details.SerializeAsString());
    });
  }
  // Every Fetch of sam's queue also returns a PreKey message "from
  // dr-rivera.1" that `impostor` encrypted for sam.
  void InjectMessageFrom(Impostor& impostor, const std::string& text) {
    auto bundles = RawConnection(server_->address(), rivera_)->GetBundle("sam");
    ASSERT_OK(bundles.status());
    ASSERT_OK(impostor.engine->ProcessBundle({"sam", 1}, client::ToBundle(bundles->devices(0))));
    v1::content::Content content;
    content.set_sent_at_ms(absl::ToUnixMillis(absl::Now()));
    content.mutable_text()->set_body(text);
    ASSERT_OK_AND_ASSIGN(auto ciphertext, impostor.engine->Encrypt(
                                              {"sam", 1}, client::content::EncodeContent(content)));
    v1::Envelope made_up;
    made_up.set_seq(1);
    made_up.set_sender("dr-rivera");
    made_up.set_sender_device(1);
    made_up.set_type(v1::ENVELOPE_TYPE_PREKEY);
    made_up.set_ciphertext(ciphertext.body);
    made_up.set_server_time_ms(absl::ToUnixMillis(absl::Now()));
    made_up.set_message_id(std::string(16, static_cast<char>('a' + injected_++)));
    proxy_->OnResponse(kFetch, [made_up](grpc::ByteBuffer& out) {
      auto real = RewritingProxy::Parse<v1::FetchResponse>(out);
      v1::FetchResponse response;
      *response.add_envelopes() = made_up;
      for (const v1::Envelope& e : real.envelopes()) *response.add_envelopes() = e;
      response.set_more(real.more());
      out = RewritingProxy::Serialize(response);
    });
  }

  // Sam and dr-rivera exchange a first message each.
  void FirstExchange() {
    ASSERT_OK(sam_.client->SendText("dr-rivera", "hello").status());
    ASSERT_OK_AND_ASSIGN(SyncStats at_rivera, rivera_.client->Sync());
    ASSERT_EQ(at_rivera.received, 1);
    ASSERT_OK(rivera_.client->SendText("sam", "welcome").status());
    ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
    ASSERT_EQ(at_sam.received, 1);
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<RewritingProxy> proxy_;
  Party rivera_;
  Party sam_;
  int injected_ = 0;
};

TEST_F(BreachedServerTest, InviteWithCommitmentMakesTheTherapistVerifiedFromTheFirstMessage) {
  SamJoins(MakeInvite(/*with_key_commitment=*/true));
  FirstExchange();
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo number, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(number.verified);
  EXPECT_FALSE(number.changed);
  ASSERT_OK_AND_ASSIGN(auto messages, sam_.client->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(messages), ElementsAre("hello", "welcome"));
}

TEST_F(BreachedServerTest, OlderCodeWithoutCommitmentLeavesTheTherapistUnverified) {
  SamJoins(MakeInvite(/*with_key_commitment=*/false));
  FirstExchange();
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo number, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_FALSE(number.verified);
}

TEST_F(BreachedServerTest, FirstContactWithASubstitutedKeyIsRefused) {
  SamJoins(MakeInvite(/*with_key_commitment=*/true));
  Impostor impostor;
  SubstituteBundles(impostor);
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "my first message"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not match the invite you joined with")));
  // A message "from dr-rivera" under the impostor's key is held, not shown.
  InjectMessageFrom(impostor, "hi sam, it's dr rivera");
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.received, 0);
  EXPECT_EQ(at_sam.held, 1);
  EXPECT_THAT(sam_.client->ReadConversation("dr-rivera"), StatusIs(absl::StatusCode::kNotFound));
  // Nothing reached dr-rivera either way (the impostor could read nothing).
  ASSERT_OK_AND_ASSIGN(SyncStats at_rivera, rivera_.client->Sync());
  EXPECT_EQ(at_rivera.received, 0);

  // Once the server hands out the real key, the first contact goes through,
  // verified.
  proxy_->OnResponse(kGetBundle, {});
  proxy_->OnResponse(kFetch, {});
  ASSERT_OK(sam_.client->SendText("dr-rivera", "my first message").status());
  ASSERT_OK_AND_ASSIGN(at_rivera, rivera_.client->Sync());
  EXPECT_EQ(at_rivera.received, 1);
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo number, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(number.verified);
}

// A later substitution, for a contact verified through the invite and for
// one never verified alike.
class LaterSubstitutionTest : public BreachedServerTest,
                              public ::testing::WithParamInterface<bool> {};

TEST_P(LaterSubstitutionTest, SubstitutedKeyIsHeld) {
  const bool verified = GetParam();
  SamJoins(MakeInvite(/*with_key_commitment=*/verified));
  FirstExchange();
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo before, sam_.client->SafetyNumber("dr-rivera"));
  ASSERT_EQ(before.verified, verified);

  Impostor impostor;
  SubstituteBundles(impostor);
  ClaimStaleDeviceOnce();
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "something private"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("dr-rivera's safety number changed; messages are held")));
  // Held: later sends stop before anything is encrypted for the new key.
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "hello?"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("messages are held")));
  InjectMessageFrom(impostor, "you can tell me everything");
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.received, 0);
  EXPECT_EQ(at_sam.held, 1);
  ASSERT_THAT(at_sam.notices, ::testing::SizeIs(1));
  EXPECT_EQ(at_sam.notices[0].kind, IdentityNotice::Kind::kHeld);
  ASSERT_OK_AND_ASSIGN(auto messages, sam_.client->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(messages), ElementsAre("hello", "welcome"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo pending, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(pending.changed);
  EXPECT_NE(pending.digits, before.digits);
  ASSERT_OK_AND_ASSIGN(SyncStats at_rivera, rivera_.client->Sync());
  EXPECT_EQ(at_rivera.received, 0);
}

INSTANTIATE_TEST_SUITE_P(VerifiedOrNot, LaterSubstitutionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Verified" : "Unverified"; });

TEST_F(BreachedServerTest, AcceptingAfterASecondSwapDoesNotAcceptTheSecondKey) {
  SamJoins(MakeInvite(/*with_key_commitment=*/false));
  FirstExchange();
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo original, sam_.client->SafetyNumber("dr-rivera"));
  Impostor first;
  SubstituteBundles(first);
  ClaimStaleDeviceOnce();
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "still there?"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo shown, sam_.client->SafetyNumber("dr-rivera"));
  ASSERT_TRUE(shown.changed);

  // While sam compares that number, the server swaps in a second key.
  Impostor second;
  InjectMessageFrom(second, "it's me, new phone");
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.held, 1);
  EXPECT_THAT(sam_.client->AcceptIdentityChange("dr-rivera", shown.digits),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("nothing was accepted")));
  // Still held, the old key still the trusted one, the second key pending.
  EXPECT_THAT(sam_.client->SendText("dr-rivera", "hello?"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("messages are held")));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo now, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(now.changed);
  EXPECT_NE(now.digits, shown.digits);
  EXPECT_NE(now.digits, original.digits);
  EXPECT_THAT(sam_.client->AcceptIdentityChange("dr-rivera", "123"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("60 digits")));
}

}  // namespace
}  // namespace sotto
