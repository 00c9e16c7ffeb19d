// End to end, issue 4's client side: TLS to the real sotto-server (and its
// refusals, revocation included), safety numbers and identity changes, and
// the local data's passphrase, lock and automatic log-off — the real server
// binary, real clients, real encrypted stores.
//
// Identity changes come the way a real one does: the contact deletes their
// account (Client::DeleteAccount) and registers the same handle again, with a
// new identity key. One case the real path cannot make is kept simulated: a
// key that changes WITHOUT a re-registration, as only a breached server could
// serve it — a second libsignal engine with a new identity key writes through
// sam's own authenticated device (sam.1). The receiving side is always the
// unmodified Client.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client-lib/content/codec.h"
#include "client-lib/session_setup.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "client-lib/transport/address_policy.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_send.h"
#include "testing/files.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"
#include "testing/test_certs.h"

namespace sotto {
namespace {

using ::sotto::testing::EnrolmentCode;
using ::sotto::testing::Party;
using ::sotto::testing::RawConnection;
using ::sotto::testing::ReadEverything;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::ServerProcess;
using ::sotto::testing::StatusIs;
using ::sotto::testing::TestCerts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

namespace fs = std::filesystem;

using ::sotto::testing::TempDir;

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

// ---- identity changes and safety numbers ----

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(rivera_, RegisterTherapist(*server_, "dr-rivera"));
    ASSERT_OK_AND_ASSIGN(sam_, RegisterClient(server_->address(), "sam", rivera_));
    ASSERT_OK(sam_.client->SendText("dr-rivera", "hello").status());
    ASSERT_OK_AND_ASSIGN(SyncStats first, rivera_.client->Sync());
    ASSERT_EQ(first.received, 1);
  }

  // Sam deletes the account and registers "sam" again on a new profile (a
  // new phone after losing the old one): same handle, device 1, a NEW
  // identity key. dr-rivera's device still holds the old key and session.
  void SamReRegisters() {
    ASSERT_OK(sam_.client->DeleteAccount("sam"));
    ASSERT_OK_AND_ASSIGN(sam_, RegisterClient(server_->address(), "sam", rivera_));
  }

  // Sam's device 1 writes `text` to dr-rivera under a brand-new identity key
  // (a reinstall, or a server lying about sam's keys).
  void SendFromSamWithANewKey(const std::string& text) {
    if (!new_sam_) {
      new_sam_store_ = client::storage::NewMemoryStore();
      ASSERT_OK_AND_ASSIGN(new_sam_, client::signal::Engine::Open(new_sam_store_.get()));
      ASSERT_OK(new_sam_->CreateIdentity());
      auto bundles = RawConnection(server_->address(), sam_)->GetBundle("dr-rivera");
      ASSERT_OK(bundles.status());
      ASSERT_OK(new_sam_->ProcessBundle({"dr-rivera", 1}, client::ToBundle(bundles->devices(0))));
    }
    v1::content::Content content;
    content.set_sent_at_ms(absl::ToUnixMillis(absl::Now()));
    content.mutable_text()->set_body(text);
    client::signal::Address to{"dr-rivera", 1};
    ASSERT_OK_AND_ASSIGN(auto ciphertext,
                         new_sam_->Encrypt(to, client::content::EncodeContent(content)));
    ASSERT_OK_AND_ASSIGN(uint32_t registration_id, new_sam_->RemoteRegistrationId(to));
    ASSERT_OK(::sotto::testing::SendRawCiphertext(
        *RawConnection(server_->address(), sam_), "dr-rivera", registration_id, ciphertext,
        std::string(16, static_cast<char>('k' + sends_++))));
  }

  std::unique_ptr<ServerProcess> server_;
  Party rivera_;
  Party sam_;
  std::unique_ptr<client::storage::LocalStore> new_sam_store_;
  std::unique_ptr<client::signal::Engine> new_sam_;
  int sends_ = 0;
};

TEST_F(IdentityTest, SafetyNumbersAre60DigitsAndTheSameOnBothSides) {
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo at_rivera, rivera_.client->SafetyNumber("sam"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo at_sam, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_THAT(at_rivera.digits, SizeIs(60));
  EXPECT_TRUE(std::all_of(at_rivera.digits.begin(), at_rivera.digits.end(),
                          [](char c) { return c >= '0' && c <= '9'; }));
  EXPECT_EQ(at_rivera.digits, at_sam.digits);
  EXPECT_FALSE(at_rivera.scannable.empty());
  EXPECT_FALSE(at_rivera.verified);
  EXPECT_FALSE(at_rivera.changed);
  EXPECT_THAT(rivera_.client->SafetyNumber("nobody-known"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(rivera_.client->MarkVerified("sam"));
  ASSERT_OK_AND_ASSIGN(at_rivera, rivera_.client->SafetyNumber("sam"));
  EXPECT_TRUE(at_rivera.verified);
}

// Issue 22: an unverified contact's new key is held like a verified one's.
TEST_F(IdentityTest, UnverifiedContactWhoReRegisteredIsHeldUntilTheNumberIsAccepted) {
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo before, rivera_.client->SafetyNumber("sam"));
  ASSERT_FALSE(before.verified);
  SamReRegisters();
  ASSERT_OK(sam_.client->SendText("dr-rivera", "new phone, same sam").status());

  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 0);
  EXPECT_EQ(stats.held, 1);
  ASSERT_THAT(stats.notices, SizeIs(1));
  EXPECT_EQ(stats.notices[0].kind, IdentityNotice::Kind::kHeld);
  EXPECT_THAT(stats.notices[0].text, HasSubstr("sam's safety number changed"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo pending, rivera_.client->SafetyNumber("sam"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo at_sam, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(pending.changed);
  EXPECT_NE(pending.digits, before.digits);
  EXPECT_EQ(pending.digits, at_sam.digits);
  ASSERT_OK(rivera_.client->AcceptIdentityChange("sam", pending.digits));
  ASSERT_OK_AND_ASSIGN(stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("hello", "new phone, same sam"));
  ASSERT_OK_AND_ASSIGN(SendResult reply, rivera_.client->SendText("sam", "welcome back"));
  EXPECT_THAT(reply.notices, IsEmpty());
  ASSERT_OK_AND_ASSIGN(stats, sam_.client->Sync());
  EXPECT_EQ(stats.received, 1);
}

TEST_F(IdentityTest, UnverifiedContactWhoReRegisteredIsHeldWhenWrittenTo) {
  SamReRegisters();
  // dr-rivera writes first, on the old session: sam.1's new bundle is held.
  EXPECT_THAT(rivera_.client->SendText("sam", "how was the week?"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("sam's safety number changed; messages are held")));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, sam_.client->Sync());
  EXPECT_EQ(stats.received, 0);
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo pending, rivera_.client->SafetyNumber("sam"));
  ASSERT_OK(rivera_.client->AcceptIdentityChange("sam", pending.digits));
  ASSERT_OK(rivera_.client->SendText("sam", "how was the week?").status());
  ASSERT_OK_AND_ASSIGN(stats, sam_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  ASSERT_OK_AND_ASSIGN(auto messages, sam_.client->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(messages), ElementsAre("how was the week?"));
}

TEST_F(IdentityTest, VerifiedContactWhoReRegisteredIsHeldAndSendingStopsUntilTrusted) {
  ASSERT_OK(rivera_.client->MarkVerified("sam"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo before, rivera_.client->SafetyNumber("sam"));
  SamReRegisters();

  // Writing to the new key stops, and says what to do.
  EXPECT_THAT(rivera_.client->SendText("sam", "are you there?"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("sam's safety number changed; messages are held. Compare it "
                                 "(`sotto safety-number sam`) with sam in person or by video, and "
                                 "accept exactly that number with `sotto trust sam "
                                 "--safety-number NUMBER`")));
  // The new sam's messages are held on the server, with a warning.
  ASSERT_OK(sam_.client->SendText("dr-rivera", "is this still private?").status());
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 0);
  EXPECT_EQ(stats.held, 1);
  EXPECT_THAT(stats.held_from, ElementsAre("sam"));
  ASSERT_THAT(stats.notices, SizeIs(1));
  EXPECT_EQ(stats.notices[0].kind, IdentityNotice::Kind::kHeld);
  EXPECT_THAT(stats.notices[0].text, HasSubstr("sam's safety number changed"));
  // Held means still queued: the next sync holds it again.
  ASSERT_OK_AND_ASSIGN(stats, rivera_.client->Sync());
  EXPECT_EQ(stats.held, 1);
  EXPECT_THAT(rivera_.client->SendText("sam", "hello?"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(rivera_.client->MarkVerified("sam"), StatusIs(absl::StatusCode::kFailedPrecondition));

  // The number to compare is the new key's, and matches the new sam's.
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo pending, rivera_.client->SafetyNumber("sam"));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo at_sam, sam_.client->SafetyNumber("dr-rivera"));
  EXPECT_TRUE(pending.changed);
  EXPECT_NE(pending.digits, before.digits);
  EXPECT_EQ(pending.digits, at_sam.digits);
  EXPECT_THAT(rivera_.client->AcceptIdentityChange("sam", before.digits),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("nothing was accepted")));
  ASSERT_OK(rivera_.client->AcceptIdentityChange("sam", pending.digits));
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo after, rivera_.client->SafetyNumber("sam"));
  EXPECT_EQ(after.digits, pending.digits);
  EXPECT_FALSE(after.verified);  // accepting clears the verification
  EXPECT_FALSE(after.changed);
  EXPECT_THAT(rivera_.client->AcceptIdentityChange("sam", pending.digits),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("nothing to accept")));

  ASSERT_OK_AND_ASSIGN(stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_EQ(stats.held, 0);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("hello", "is this still private?"));
  ASSERT_OK(rivera_.client->SendText("sam", "yes, it is").status());
  ASSERT_OK_AND_ASSIGN(stats, sam_.client->Sync());
  EXPECT_EQ(stats.received, 1);
}

// What no re-registration can produce: sam's existing device suddenly
// speaking with another key, as a breached server could make it. A verified
// contact's messages are held all the same.
TEST_F(IdentityTest, KeyChangedWithoutReRegistrationIsHeldForAVerifiedContact) {
  ASSERT_OK(rivera_.client->MarkVerified("sam"));
  SendFromSamWithANewKey("trust me, it is still sam");
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 0);
  EXPECT_EQ(stats.held, 1);
  ASSERT_THAT(stats.notices, SizeIs(1));
  EXPECT_EQ(stats.notices[0].kind, IdentityNotice::Kind::kHeld);
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo pending, rivera_.client->SafetyNumber("sam"));
  EXPECT_TRUE(pending.changed);
  EXPECT_THAT(rivera_.client->SendText("sam", "hm?"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("safety number changed")));
}

// ---- local data: passphrase, lock, automatic log-off ----

class LocalDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(std::string code, EnrolmentCode(*server_, "dr-lock"));
    options_.profile_dir = dir_.sub("rivera");
    options_.server_address = server_->address();
    options_.handle = "dr-lock";
    options_.role = Role::kTherapist;
    options_.enrolment_code = code;
    options_.passphrase = "correct horse";
    options_.key_derivation = KeyDerivation::kFastForTestsOnly;
  }

  OpenOptions Opening(const std::string& passphrase) const {
    OpenOptions open;
    open.profile_dir = options_.profile_dir;
    open.passphrase = passphrase;
    return open;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  RegisterOptions options_;
};

TEST_F(LocalDataTest, WrongPassphraseIsPermissionDeniedAndChangesNothing) {
  { ASSERT_OK(Client::Register(options_).status()); }
  const std::string before = ReadEverything(options_.profile_dir);
  EXPECT_THAT(Client::Open(Opening("wrong horse")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong passphrase")));
  EXPECT_EQ(ReadEverything(options_.profile_dir), before);
  EXPECT_OK(Client::Open(Opening("correct horse")).status());
}

TEST_F(LocalDataTest, ChangePassphraseReKeysTheStoreOldFailsNewWorks) {
  const std::string secret_text = "my-sessions-are-private-7Qx";
  {
    ASSERT_OK_AND_ASSIGN(auto rivera, Client::Register(options_));
    Party therapist{std::move(rivera), nullptr};
    ASSERT_OK_AND_ASSIGN(Party sam, RegisterClient(server_->address(), "sam", therapist));
    ASSERT_OK(sam.client->SendText("dr-lock", secret_text).status());
    ASSERT_OK(therapist.client->Sync().status());
    EXPECT_THAT(therapist.client->ChangePassphrase("not it", "new staple"),
                StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(therapist.client->ChangePassphrase("correct horse", ""),
                StatusIs(absl::StatusCode::kInvalidArgument));
    ASSERT_OK(therapist.client->ChangePassphrase("correct horse", "battery staple"));
  }
  EXPECT_THAT(Client::Open(Opening("correct horse")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_OK_AND_ASSIGN(auto reopened, Client::Open(Opening("battery staple")));
  ASSERT_OK_AND_ASSIGN(auto messages, reopened->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre(secret_text));
  reopened.reset();
  const std::string bytes = ReadEverything(options_.profile_dir);
  EXPECT_EQ(bytes.find(secret_text), std::string::npos);
  EXPECT_EQ(bytes.find("battery staple"), std::string::npos);
  EXPECT_EQ(bytes.find("correct horse"), std::string::npos);
}

TEST_F(LocalDataTest, LockRefusesEveryCallUntilUnlockedWithThePassphrase) {
  ASSERT_OK_AND_ASSIGN(auto rivera, Client::Register(options_));
  ASSERT_OK(rivera->Lock());
  EXPECT_TRUE(rivera->IsLocked());
  const auto locked = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kFailedPrecondition &&
           absl::StrContains(s.message(), "locked");
  };
  EXPECT_TRUE(locked(rivera->Sync().status()));
  EXPECT_TRUE(locked(rivera->ListConversations().status()));
  EXPECT_TRUE(locked(rivera->SendText("sam", "hi").status()));
  EXPECT_TRUE(locked(rivera->CreateInvite().status()));
  EXPECT_TRUE(locked(rivera->SafetyNumber("sam").status()));
  EXPECT_TRUE(locked(rivera->ChangePassphrase("correct horse", "x")));
  // The store is closed while locked: another process could open it now.
  EXPECT_THAT(rivera->Unlock("wrong"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(rivera->IsLocked());
  ASSERT_OK(rivera->Unlock("correct horse"));
  EXPECT_FALSE(rivera->IsLocked());
  EXPECT_OK(rivera->Sync().status());
  EXPECT_OK(rivera->CreateInvite().status());
}

TEST_F(LocalDataTest, AppProvidedStoreCannotBeLocked) {
  ASSERT_OK_AND_ASSIGN(Party rivera, RegisterTherapist(*server_, "dr-app"));
  EXPECT_THAT(rivera.client->Lock(), StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_OK(rivera.client->Sync().status());
}

TEST_F(LocalDataTest, IdleClientLocksItselfAfterAutoLockAfter) {
  auto clock = std::make_shared<ManualClock>();
  options_.clock = clock;
  options_.auto_lock_after = absl::Minutes(15);
  ASSERT_OK_AND_ASSIGN(auto rivera, Client::Register(options_));
  ASSERT_OK(rivera->Sync().status());
  clock->Advance(absl::Minutes(14));
  ASSERT_OK(rivera->Sync().status()) << "locked before the idle time passed";
  clock->Advance(absl::Minutes(15));
  EXPECT_THAT(rivera->Sync(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("locked")));
  EXPECT_TRUE(rivera->IsLocked());
  ASSERT_OK(rivera->Unlock("correct horse"));
  EXPECT_OK(rivera->Sync().status());
}

TEST_F(LocalDataTest, ListeningClientLocksItselfWhenTheUserIsIdle) {
  options_.auto_lock_after = absl::Milliseconds(500);
  ASSERT_OK_AND_ASSIGN(auto rivera, Client::Register(options_));
  const absl::Time start = absl::Now();
  auto result = rivera->Listen(absl::Seconds(30), [](const Message&) { return true; });
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("locked")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_TRUE(rivera->IsLocked());
  ASSERT_OK(rivera->Unlock("correct horse"));
  EXPECT_OK(rivera->Sync().status());
}

// ---- TLS ----

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(certs_, TestCerts::Shared()); }

  static absl::StatusOr<std::unique_ptr<ServerProcess>> Serve(const TestCerts::KeyPair& pair) {
    return ServerProcess::Start(ServerProcess::kDefaultBinary,
                                {"--tls-cert", pair.cert_path, "--tls-key", pair.key_path});
  }

  // Registers a therapist over TLS trusting `ca_pem` (and checking
  // `crl_pem`), at `address` (default: the server's 127.0.0.1:PORT).
  absl::Status RegisterOver(const ServerProcess& server, const std::string& ca_pem,
                            const std::string& handle = "dr-tls", const std::string& crl_pem = "",
                            const std::string& address = "") {
    auto code = EnrolmentCode(server, handle);
    if (!code.ok()) return code.status();
    RegisterOptions options;
    options.server_address = address.empty() ? server.address() : address;
    options.handle = handle;
    options.role = Role::kTherapist;
    options.enrolment_code = *code;
    options.tls_ca_pem = ca_pem;
    options.tls_crl_pem = crl_pem;
    auto party = sotto::testing::RegisterWith(options);
    return party.status();
  }

  // "localhost:PORT" for the server: the certificate's DNS name.
  static std::string ByName(const ServerProcess& server) {
    return "localhost" + server.address().substr(server.address().rfind(':'));
  }

  // A therapist (at `therapist_address`) and a client (at the server's
  // 127.0.0.1:PORT) register over TLS trusting the test CA and checking
  // `crl_pem`, and exchange a message.
  void ExchangeOver(const ServerProcess& server, const std::string& crl_pem,
                    const std::string& therapist_address) {
    auto code = EnrolmentCode(server, "dr-tls");
    ASSERT_OK(code.status());
    RegisterOptions options;
    options.server_address = therapist_address;
    options.handle = "dr-tls";
    options.role = Role::kTherapist;
    options.enrolment_code = *code;
    options.tls_ca_pem = certs_->ca.cert_pem;
    options.tls_crl_pem = crl_pem;
    ASSERT_OK_AND_ASSIGN(Party rivera, sotto::testing::RegisterWith(options));
    ASSERT_OK_AND_ASSIGN(auto invite, rivera.client->CreateInvite());
    options.server_address = server.address();
    options.handle = "sam";
    options.role = Role::kClient;
    options.enrolment_code.clear();
    options.invite_code = invite.code;
    ASSERT_OK_AND_ASSIGN(Party sam, sotto::testing::RegisterWith(options));
    ASSERT_OK(sam.client->SendText("dr-tls", "over TLS").status());
    ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera.client->Sync());
    EXPECT_EQ(stats.received, 1);
  }

  // A current CRL of the test CA revoking `revoked`, issued `ago` seconds ago.
  std::string CrlRevoking(std::vector<const TestCerts::KeyPair*> revoked, long ago = 3600) const {
    auto crl = certs_->MakeCrl(certs_->ca, revoked, 24 * 3600, ago);
    EXPECT_TRUE(crl.ok()) << crl.status();
    return crl.ok() ? *crl : "";
  }

  const TestCerts* certs_ = nullptr;
};

TEST_F(TlsTest, ClientsTalkToATlsServerSignedByTheirCa) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->server));
  ExchangeOver(*server, /*crl_pem=*/"", server->address());
}

// The refusals below name the check that failed (the library's own
// handshake explains gRPC's "certificate verify failed"), and each holds with
// a CRL configured too: switching to the credentials type that checks CRLs
// must not drop the chain, validity or host-name checks.

TEST_F(TlsTest, ServerFromAnotherCaIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->other_ca_server));
  for (const std::string& crl : {std::string(), CrlRevoking({})}) {
    EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", crl),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("is issued by CN=other_ca, which is not the CA this client "
                                   "trusts")));
  }
  // The same server with its own CA is fine: the refusal is the CA's.
  EXPECT_OK(RegisterOver(*server, certs_->other_ca.cert_pem));
}

TEST_F(TlsTest, ServerWithAWrongHostCertificateIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->wrong_host));
  for (const std::string& crl : {std::string(), CrlRevoking({})}) {
    EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", crl),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("is not for 127.0.0.1 (it names wrong-host.example)")));
    EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", crl, ByName(*server)),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is not for localhost")));
  }
}

TEST_F(TlsTest, ServerWithAnExpiredCertificateIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->expired));
  for (const std::string& crl : {std::string(), CrlRevoking({})}) {
    EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", crl),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("expired on")));
  }
}

// ---- revocation (CRLs) ----

TEST_F(TlsTest, RevokedServerCertificateIsRefusedNamingTheRevocation) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->revoked));
  const std::string crl = CrlRevoking({&certs_->revoked});
  for (const std::string& address : {server->address(), ByName(*server)}) {
    EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", crl, address),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("the server's TLS certificate (CN=localhost) has been revoked "
                                   "(listed in the CRL of CN=ca)")));
  }
  // Nothing reached the server: the handle is still free. Without the CRL
  // the same certificate passes, so the refusal is the CRL's.
  EXPECT_OK(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls"));
}

TEST_F(TlsTest, CertificateTheCrlDoesNotListIsAccepted) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->server));
  // The CA's CRL revokes another certificate, not this server's; by name and
  // by address.
  ExchangeOver(*server, CrlRevoking({&certs_->revoked}), ByName(*server));
}

TEST_F(TlsTest, AnOutOfDateCrlStopsCallsBeforeAnythingIsSent) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->server));
  ASSERT_OK_AND_ASSIGN(std::string stale,
                       certs_->MakeCrl(certs_->ca, {}, /*next_update_seconds=*/-60,
                                       /*issued_seconds_ago=*/7200));
  EXPECT_THAT(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", stale),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("revocation list of CN=ca is out of date")));
  // The handle was never sent: with a current CRL it registers.
  EXPECT_OK(RegisterOver(*server, certs_->ca.cert_pem, "dr-tls", CrlRevoking({})));
}

TEST_F(TlsTest, ANewerCrlGivenOnOpenIsStoredAndAnOlderOneCannotUnrevoke) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->revoked));
  TempDir dir;
  auto code = EnrolmentCode(*server, "dr-tls");
  ASSERT_OK(code.status());
  RegisterOptions options;
  options.profile_dir = dir.sub("rivera");
  options.passphrase = "correct horse";
  options.key_derivation = KeyDerivation::kFastForTestsOnly;
  options.server_address = server->address();
  options.handle = "dr-tls";
  options.role = Role::kTherapist;
  options.enrolment_code = *code;
  options.tls_ca_pem = certs_->ca.cert_pem;
  const std::string last_week = CrlRevoking({}, /*ago=*/7 * 24 * 3600);
  options.tls_crl_pem = last_week;
  { ASSERT_OK_AND_ASSIGN(auto rivera, Client::Register(options)); }

  OpenOptions open;
  open.profile_dir = options.profile_dir;
  open.passphrase = options.passphrase;
  // The provider revokes the server's certificate and publishes a new list.
  open.tls_crl_pem = CrlRevoking({&certs_->revoked}, /*ago=*/60);
  {
    ASSERT_OK_AND_ASSIGN(auto rivera, Client::Open(open));
    EXPECT_THAT(rivera->Sync(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("revoked")));
  }
  // Stored: without a CRL on Open it is still checked.
  open.tls_crl_pem.clear();
  {
    ASSERT_OK_AND_ASSIGN(auto rivera, Client::Open(open));
    EXPECT_THAT(rivera->Sync(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("revoked")));
    // Offline reading still works.
    EXPECT_OK(rivera->ListConversations().status());
  }
  // Handing over last week's list again does not undo the revocation.
  open.tls_crl_pem = last_week;
  {
    ASSERT_OK_AND_ASSIGN(auto rivera, Client::Open(open));
    EXPECT_THAT(rivera->Sync(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("revoked")));
  }
}

TEST_F(TlsTest, ACrlNeedsTlsAndMustParse) {
  ASSERT_OK_AND_ASSIGN(auto plain, ServerProcess::Start());
  EXPECT_THAT(RegisterOver(*plain, "", "dr-tls", CrlRevoking({})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs TLS")));
  EXPECT_THAT(RegisterOver(*plain, certs_->ca.cert_pem, "dr-tls", certs_->ca.cert_pem),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tls_crl_pem: no certificate revocation list")));
}

TEST_F(TlsTest, PlainTcpClientCannotTalkToATlsServer) {
  ASSERT_OK_AND_ASSIGN(auto server, Serve(certs_->server));
  EXPECT_THAT(RegisterOver(*server, ""), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(AddressPolicyWithTls, RemoteHostsNeedTls) {
  EXPECT_THAT(client::transport::CheckServerAddress("sotto.example.org:443", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(client::transport::CheckServerAddress("sotto.example.org:443", true));
  EXPECT_OK(client::transport::CheckServerAddress("127.0.0.1:50051", false));
  RegisterOptions options;
  options.profile_dir = "/nonexistent/never-created";
  options.passphrase = "p";
  options.server_address = "sotto.example.org:443";
  options.handle = "dr-remote";
  options.role = Role::kTherapist;
  options.enrolment_code = "code";
  EXPECT_THAT(Client::Register(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plain TCP")));
}

}  // namespace
}  // namespace sotto
