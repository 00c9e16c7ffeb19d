// A letter at the sizes the issue promises fits one envelope: the padded
// plaintext plus Signal's overhead stays under the server's limit on a
// ciphertext (messages.proto, kMaxCiphertextBytes = 65,536), even as the
// first message of a session (a PreKey message, the largest framing).

#include <memory>
#include <string>

#include "client-lib/content/codec.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

constexpr size_t kMaxCiphertextBytes = 65536;
constexpr int64_t kNow = 1'750'000'000'000;

struct Device {
  signal::Address address;
  std::unique_ptr<storage::LocalStore> store;
  std::unique_ptr<signal::Engine> engine;
};

std::unique_ptr<Device> NewDevice(std::string user) {
  auto d = std::make_unique<Device>();
  d->address = signal::Address{std::move(user), 1};
  d->store = storage::NewMemoryStore();
  d->engine = signal::Engine::Open(d->store.get()).value();
  EXPECT_OK(d->engine->CreateIdentity());
  EXPECT_OK(d->engine->RotateSignedPreKey(kNow).status());
  return d;
}

class LetterEnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sam_ = NewDevice("sam");
    rivera_ = NewDevice("dr-rivera");
    auto prekeys = rivera_->engine->GeneratePreKeys(1).value();
    signal::Bundle b;
    b.device_id = 1;
    b.registration_id = rivera_->engine->RegistrationId().value();
    b.identity_key = rivera_->engine->IdentityPublicKey().value();
    auto spk = rivera_->engine->CurrentSignedPreKey().value();
    b.signed_prekey_id = spk.id;
    b.signed_prekey_public = spk.public_key;
    b.signed_prekey_signature = spk.signature;
    b.one_time_prekey = prekeys.front();
    ASSERT_OK(sam_->engine->ProcessBundle(rivera_->address, b));
  }

  v1::content::Content Letter(size_t body_bytes) {
    v1::content::Content c;
    c.set_sent_at_ms(kNow);
    c.mutable_letter()->set_subject(std::string(content::kMaxLetterSubjectBytes, 's'));
    // Not all one byte, so nothing downstream could compress it away.
    std::string body(body_bytes, '\0');
    for (size_t i = 0; i < body_bytes; ++i) body[i] = static_cast<char>('a' + (i * 7919) % 26);
    c.mutable_letter()->set_body(std::move(body));
    c.mutable_letter()->set_in_reply_to(std::string(content::kMessageIdBytes, '\x01'));
    c.mutable_letter()->set_thread_id(std::string(content::kMessageIdBytes, '\x02'));
    return c;
  }

  std::unique_ptr<Device> sam_;
  std::unique_ptr<Device> rivera_;
};

TEST_F(LetterEnvelopeTest, FortyKilobyteLetterFitsAsTheFirstMessageAndDecrypts) {
  const v1::content::Content sent = Letter(40 * 1000);
  ASSERT_OK_AND_ASSIGN(std::string plaintext, content::ValidateAndEncode(sent));
  ASSERT_OK_AND_ASSIGN(signal::Ciphertext ciphertext,
                       sam_->engine->Encrypt(rivera_->address, plaintext));
  EXPECT_EQ(ciphertext.type, signal::MessageType::kPreKey);
  EXPECT_LE(ciphertext.body.size(), kMaxCiphertextBytes);
  ASSERT_OK_AND_ASSIGN(std::string got, rivera_->engine->Decrypt(sam_->address, ciphertext));
  ASSERT_OK_AND_ASSIGN(v1::content::Content decoded, content::DecodeContent(got));
  EXPECT_EQ(decoded.letter().body(), sent.letter().body());
  EXPECT_EQ(decoded.letter().subject(), sent.letter().subject());
}

TEST_F(LetterEnvelopeTest, LargestLetterStillFitsOneEnvelope) {
  ASSERT_OK_AND_ASSIGN(std::string plaintext,
                       content::ValidateAndEncode(Letter(content::kMaxLetterBodyBytes)));
  ASSERT_OK_AND_ASSIGN(signal::Ciphertext ciphertext,
                       sam_->engine->Encrypt(rivera_->address, plaintext));
  EXPECT_LE(ciphertext.body.size(), kMaxCiphertextBytes)
      << "padded plaintext " << plaintext.size() << " bytes";
}

}  // namespace
}  // namespace sotto::client
