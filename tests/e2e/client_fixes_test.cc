// End to end, the client library's failure handling: untrusted new devices,
// local-store failures while decrypting, unreadable content, replying from a
// Listen callback, key maintenance, loopback-only plain TCP — the real
// sotto-server binary, real libsignal, real stores (a fault-injecting wrapper
// where a disk failure must be simulated).

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client-lib/content/codec.h"
#include "client-lib/session_setup.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_send.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/tcp_proxy.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using client::storage::LocalStore;
using client::storage::Space;
using client::storage::Write;
using ::sotto::testing::EnrolmentCode;
using ::sotto::testing::IsOk;
using ::sotto::testing::IsOkAndHolds;
using ::sotto::testing::Party;
using ::sotto::testing::RawConnection;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

namespace fs = std::filesystem;

constexpr char kUnreadable[] = "[This message could not be read by this version of Sotto]";

// A LocalStore that fails like a disk (or our own at-rest encryption) can,
// when the test says so: a read of chosen keys, or an Apply of chosen writes.
class FaultStore final : public LocalStore {
 public:
  using ReadFault = std::function<absl::Status(Space, absl::string_view key)>;
  using ApplyFault = std::function<absl::Status(const std::vector<Write>&)>;

  explicit FaultStore(LocalStore* base) : base_(base) {}

  void FailReads(ReadFault fault) {
    absl::MutexLock lock(&mu_);
    read_fault_ = std::move(fault);
  }
  void FailApplies(ApplyFault fault) {
    absl::MutexLock lock(&mu_);
    apply_fault_ = std::move(fault);
  }
  void Heal() {
    absl::MutexLock lock(&mu_);
    read_fault_ = nullptr;
    apply_fault_ = nullptr;
  }

  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    if (absl::Status s = ReadStatus(space, key); !s.ok()) return s;
    return base_->Get(space, key);
  }
  absl::Status Apply(const std::vector<Write>& writes) override {
    {
      absl::MutexLock lock(&mu_);
      if (apply_fault_) {
        if (absl::Status s = apply_fault_(writes); !s.ok()) return s;
      }
    }
    return base_->Apply(writes);
  }
  absl::StatusOr<std::vector<client::storage::Entry>> Scan(Space space,
                                                           absl::string_view prefix) override {
    if (absl::Status s = ReadStatus(space, prefix); !s.ok()) return s;
    return base_->Scan(space, prefix);
  }
  std::string Blind(absl::string_view identifier) const override {
    return base_->Blind(identifier);
  }

 private:
  absl::Status ReadStatus(Space space, absl::string_view key) {
    absl::MutexLock lock(&mu_);
    return read_fault_ ? read_fault_(space, key) : absl::OkStatus();
  }

  LocalStore* const base_;
  absl::Mutex mu_;
  ReadFault read_fault_ ABSL_GUARDED_BY(mu_);
  ApplyFault apply_fault_ ABSL_GUARDED_BY(mu_);
};

bool Touches(const std::vector<Write>& writes, Space space, absl::string_view key = "") {
  for (const Write& w : writes) {
    if (w.space == space && (key.empty() || w.key == key)) return true;
  }
  return false;
}

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

using ::sotto::testing::TempDir;

class ClientFixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    // The therapist's store can be made to fail.
    ASSERT_OK_AND_ASSIGN(std::string code, EnrolmentCode(*server_, "dr-rivera"));
    RegisterOptions options;
    options.server_address = address();
    options.handle = "dr-rivera";
    options.role = Role::kTherapist;
    options.enrolment_code = code;
    rivera_base_ = client::storage::NewMemoryStore();
    auto faulty = std::make_unique<FaultStore>(rivera_base_.get());
    rivera_faults_ = faulty.get();
    ASSERT_OK_AND_ASSIGN(rivera_.client, Client::Register(options, std::move(faulty)));
    rivera_.store = rivera_faults_;
    ASSERT_OK_AND_ASSIGN(sam_, RegisterClient(address(), "sam", rivera_));
  }

  std::string address() const { return server_->address(); }

  // Sends `plaintext` from sam's device to dr-rivera.1 exactly as a Sotto
  // client would, but with content this version would never write. Sam must
  // already have a session with dr-rivera.
  void SendRawFromSam(const std::string& plaintext) {
    ASSERT_OK_AND_ASSIGN(auto engine, client::signal::Engine::Open(sam_.store));
    client::signal::Address to{"dr-rivera", 1};
    ASSERT_OK_AND_ASSIGN(client::signal::Ciphertext ciphertext, engine->Encrypt(to, plaintext));
    ASSERT_OK_AND_ASSIGN(uint32_t registration_id, engine->RemoteRegistrationId(to));
    ASSERT_OK(::sotto::testing::SendRawCiphertext(
        *RawConnection(address(), sam_), "dr-rivera", registration_id, ciphertext,
        std::string(16, static_cast<char>('a' + raw_sends_++))));
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::unique_ptr<LocalStore> rivera_base_;
  FaultStore* rivera_faults_ = nullptr;  // owned by rivera_.client
  Party rivera_;
  Party sam_;
  int raw_sends_ = 0;
};

// ---- keepalive ----

// A Subscribe stream on a connection whose network vanished without closing
// it (a phone that lost its signal): the client's keepalive ping goes
// unanswered and the stream fails UNAVAILABLE within keepalive time +
// timeout, instead of waiting for as long as TCP does, so a Listen returns
// and the app can connect again. (The server never sees these fast pings:
// the proxy drops everything from the moment the stream is open.)
TEST_F(ClientFixTest, AStreamOnAConnectionThatDiedQuietlyFails) {
  const int port = std::stoi(address().substr(address().rfind(':') + 1));
  sotto::testing::TcpProxy proxy(port);
  auto connection =
      RawConnection(proxy.address(), sam_, {absl::Milliseconds(500), absl::Seconds(1)});
  std::unique_ptr<client::transport::Subscription> stream = connection->Subscribe();
  for (std::optional<v1::SubscribeEvent> event = stream->Read(); !event || !event->drained();
       event = stream->Read()) {
    ASSERT_TRUE(event.has_value()) << stream->Finish();
  }
  proxy.Blackhole();
  const absl::Time cut = absl::Now();
  // Without keepalive the Read below would wait for TCP: give up at 20 s.
  absl::Notification ended;
  std::thread watchdog([&] {
    if (!ended.WaitForNotificationWithTimeout(absl::Seconds(20))) stream->Cancel();
  });
  EXPECT_FALSE(stream->Read().has_value());
  ended.Notify();
  watchdog.join();
  EXPECT_LT(absl::Now() - cut, absl::Seconds(10)) << "the dead connection was not noticed";
  EXPECT_THAT(stream->Finish(), StatusIs(absl::StatusCode::kUnavailable));
}

// ---- 1. ghost devices ----

TEST_F(ClientFixTest, NewDeviceOfAKnownTherapistWithAnotherKeyIsRefused) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "hello").status());
  // What a breached server could serve as "dr-rivera's new device 2".
  auto ghost_store = client::storage::NewMemoryStore();
  ASSERT_OK_AND_ASSIGN(auto ghost, client::signal::Engine::Open(ghost_store.get()));
  ASSERT_OK(ghost->CreateIdentity());
  ASSERT_OK_AND_ASSIGN(auto spk, ghost->RotateSignedPreKey(absl::ToUnixMillis(absl::Now())));
  client::signal::Bundle bundle{2,
                                ghost->RegistrationId().value(),
                                ghost->IdentityPublicKey().value(),
                                spk.id,
                                spk.public_key,
                                spk.signature,
                                std::nullopt};

  ASSERT_OK_AND_ASSIGN(auto sams_engine, client::signal::Engine::Open(sam_.store));
  EXPECT_THAT(sams_engine->ProcessBundle({"dr-rivera", 2}, bundle),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("dr-rivera has a new device with an unverified identity key")));
  EXPECT_THAT(sams_engine->SessionDevices("dr-rivera"), IsOkAndHolds(ElementsAre(1u)));
  // The real device's bundle, from the real server, is still fine.
  auto bundles = RawConnection(address(), sam_)->GetBundle("dr-rivera");
  ASSERT_OK(bundles.status());
  ASSERT_THAT(bundles->devices(), SizeIs(1));
  EXPECT_OK(sams_engine->ProcessBundle({"dr-rivera", 1}, client::ToBundle(bundles->devices(0))));
}

TEST_F(ClientFixTest, PreKeyMessageFromAGhostDeviceIsHeldNotAcked) {
  // Rivera knows sam (device 1); then "sam.2" with other keys writes to her.
  ASSERT_OK(sam_.client->SendText("dr-rivera", "hello").status());
  ASSERT_OK_AND_ASSIGN(SyncStats first, rivera_.client->Sync());
  ASSERT_EQ(first.received, 1);
  auto ghost_store = client::storage::NewMemoryStore();
  ASSERT_OK_AND_ASSIGN(auto ghost, client::signal::Engine::Open(ghost_store.get()));
  ASSERT_OK(ghost->CreateIdentity());
  auto bundles = RawConnection(address(), sam_)->GetBundle("dr-rivera");
  ASSERT_OK(bundles.status());
  ASSERT_OK(ghost->ProcessBundle({"dr-rivera", 1}, client::ToBundle(bundles->devices(0))));
  ASSERT_OK_AND_ASSIGN(auto ciphertext, ghost->Encrypt({"dr-rivera", 1}, "trust me"));
  ASSERT_OK_AND_ASSIGN(auto rivera_engine, client::signal::Engine::Open(rivera_.store));
  EXPECT_THAT(rivera_engine->Decrypt({"sam", 2}, ciphertext),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("sam has a new device with an unverified identity key")));
  EXPECT_THAT(rivera_engine->HasSession({"sam", 2}), IsOkAndHolds(false));
}

// ---- 2. data loss: the message must survive our own failures ----

TEST_F(ClientFixTest, HistoryFailureInsideDecryptionDoesNotLoseTheMessage) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "please keep this one").status());
  rivera_faults_->FailReads([](Space space, absl::string_view key) {
    return space == Space::kMeta && key == "next_local_seq"
               ? absl::DataLossError("AEAD tag mismatch on next_local_seq")
               : absl::OkStatus();
  });
  EXPECT_THAT(rivera_.client->Sync(), Not(IsOk()));
  rivera_faults_->Heal();
  // Redelivered, it is not a duplicate: the session was not advanced.
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_EQ(stats.duplicates, 0);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("please keep this one"));
}

TEST_F(ClientFixTest, UnreadableContentIsStoredAsAPlaceholder) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "first, a normal one").status());
  // A body of a kind this version does not know (a newer client's) ...
  v1::content::Content unknown;
  unknown.set_sent_at_ms(absl::ToUnixMillis(absl::Now()));
  SendRawFromSam(client::content::EncodeContent(unknown));
  // ... and a plaintext that is not a padded Content at all.
  SendRawFromSam("\x01\x02 not padded, not a Content");
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 3);
  EXPECT_EQ(stats.undecryptable, 0);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("first, a normal one", kUnreadable, kUnreadable));
  EXPECT_EQ(messages[1].kind, MessageKind::kText);
  // Nothing is redelivered.
  ASSERT_OK_AND_ASSIGN(stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received + stats.duplicates + stats.undecryptable, 0);
}

// ---- 3. local-store failures are not "undecryptable" ----

TEST_F(ClientFixTest, StoreReadFailureWhileDecryptingLeavesTheEnvelopeQueued) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "read fault").status());
  rivera_faults_->FailReads([](Space space, absl::string_view) {
    return space == Space::kSession ? absl::DataLossError("AEAD tag mismatch in kSession")
                                    : absl::OkStatus();
  });
  EXPECT_THAT(rivera_.client->Sync(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("AEAD tag mismatch")));
  rivera_faults_->Heal();
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_EQ(stats.undecryptable, 0);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("read fault"));
}

TEST_F(ClientFixTest, StoreWriteFailureWhileDecryptingLeavesTheEnvelopeQueued) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "write fault").status());
  rivera_faults_->FailApplies([](const std::vector<Write>& writes) {
    return Touches(writes, Space::kHistory) ? absl::DataLossError("RocksDB: Corruption")
                                            : absl::OkStatus();
  });
  EXPECT_THAT(rivera_.client->Sync(), StatusIs(absl::StatusCode::kInternal));
  rivera_faults_->Heal();
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  ASSERT_OK_AND_ASSIGN(auto messages, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(messages), ElementsAre("write fault"));
}

// ---- 4. Listen does not hold the client's lock around the callback ----

TEST_F(ClientFixTest, ReplyFromInsideTheListenCallbackIsSent) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "are you there?").status());
  absl::Status reply = absl::UnknownError("callback not called");
  ASSERT_OK_AND_ASSIGN(SyncStats stats,
                       rivera_.client->Listen(absl::Seconds(5), [&](const Message& m) {
                         reply = rivera_.client->SendText(m.peer, "yes, here").status();
                         return false;
                       }));
  EXPECT_EQ(stats.received, 1);
  EXPECT_OK(reply);
  ASSERT_OK_AND_ASSIGN(SyncStats at_sam, sam_.client->Sync());
  EXPECT_EQ(at_sam.received, 1);
  ASSERT_OK_AND_ASSIGN(auto messages, sam_.client->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(messages), ElementsAre("are you there?", "yes, here"));
}

// ---- 5. key maintenance does not fail a sync ----

TEST_F(ClientFixTest, KeyMaintenanceFailureIsReportedNotReturned) {
  ASSERT_OK(sam_.client->SendText("dr-rivera", "stored before maintenance").status());
  rivera_faults_->FailReads([](Space space, absl::string_view key) {
    return space == Space::kMeta && key == "signed_prekey_ids" ? absl::UnavailableError("disk busy")
                                                               : absl::OkStatus();
  });
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 1);
  EXPECT_THAT(stats.maintenance_error, HasSubstr("disk busy"));
  rivera_faults_->Heal();
  ASSERT_OK_AND_ASSIGN(stats, rivera_.client->Sync());
  EXPECT_EQ(stats.maintenance_error, "");
}

// The signed prekey is rotated by the first sync after it turned a week old
// (the clock is the Client's, set by the test).
TEST_F(ClientFixTest, SignedPreKeyRotatesOnceAWeekOld) {
  auto clock = std::make_shared<ManualClock>();
  ASSERT_OK_AND_ASSIGN(Invite invite, rivera_.client->CreateInvite());
  RegisterOptions options;
  options.server_address = address();
  options.handle = "kim";
  options.invite_code = invite.code;
  options.clock = clock;
  ASSERT_OK_AND_ASSIGN(Party kim, ::sotto::testing::RegisterWith(options));
  auto raw = RawConnection(address(), rivera_);
  auto signed_prekey_id = [&]() -> uint32_t {
    absl::StatusOr<v1::GetBundleResponse> bundle = raw->GetBundle("kim");
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    return bundle.ok() && bundle->devices_size() == 1 ? bundle->devices(0).signed_prekey().id() : 0;
  };
  const uint32_t first = signed_prekey_id();
  clock->Advance(absl::Hours(24 * 6));
  ASSERT_OK(kim.client->Sync().status());
  EXPECT_EQ(signed_prekey_id(), first) << "rotated before it was a week old";
  clock->Advance(absl::Hours(24 + 1));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, kim.client->Sync());
  EXPECT_EQ(stats.maintenance_error, "");
  EXPECT_NE(signed_prekey_id(), first);
}

// ---- 6. plain TCP only to loopback ----

TEST_F(ClientFixTest, RemoteServerAddressesAreRefusedBeforeAnythingIsSent) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(Invite invite, rivera_.client->CreateInvite());
  RegisterOptions options;
  options.profile_dir = dir.sub("kim");
  options.server_address = "198.51.100.4:50051";
  options.handle = "kim";
  options.passphrase = "kim's passphrase";
  options.key_derivation = KeyDerivation::kFastForTestsOnly;
  options.invite_code = invite.code;
  EXPECT_THAT(Client::Register(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "refusing to send credentials to 198.51.100.4 over plain TCP; Sotto "
                       "allows only loopback until TLS is configured"));
  EXPECT_FALSE(fs::exists(options.profile_dir));

  options.server_address = address();
  ASSERT_OK_AND_ASSIGN(auto kim, Client::Register(options));
  EXPECT_EQ(kim->server_address(), address());
  kim.reset();
  OpenOptions open;
  open.profile_dir = options.profile_dir;
  open.passphrase = options.passphrase;
  open.server_address = "sotto.example.org:443";
  EXPECT_THAT(Client::Open(open), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("sotto.example.org over plain TCP")));
  open.server_address = "";
  ASSERT_OK_AND_ASSIGN(kim, Client::Open(open));
  EXPECT_EQ(kim->server_address(), address());
  EXPECT_OK(kim->SendText("dr-rivera", "hi from kim").status());
}

// ---- 7. API additions ----

TEST_F(ClientFixTest, CareTeamMessageCanBeSentLater) {
  SendOptions later;
  later.deliver_at = absl::Now() + absl::Hours(2);
  ASSERT_OK_AND_ASSIGN(auto sent, sam_.client->SendToCareTeam("for Monday", later));
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(sent[0].message.state, DeliveryState::kScheduled);
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 0);
  EXPECT_EQ(sam_.client->server_address(), address());
}

// ---- 8. a failed local save after the server registered ----

TEST_F(ClientFixTest, ProfileSaveFailureAfterRegistrationSaysTheHandleIsTaken) {
  ASSERT_OK_AND_ASSIGN(Invite invite, rivera_.client->CreateInvite());
  RegisterOptions options;
  options.server_address = address();
  options.handle = "lee";
  options.invite_code = invite.code;
  auto base = client::storage::NewMemoryStore();
  auto faulty = std::make_unique<FaultStore>(base.get());
  faulty->FailApplies([](const std::vector<Write>& writes) {
    return Touches(writes, Space::kMeta, "profile") ? absl::UnavailableError("disk full")
                                                    : absl::OkStatus();
  });
  EXPECT_THAT(
      Client::Register(options, std::move(faulty)),
      StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("disk full"), HasSubstr("'lee'"),
                                                     HasSubstr("now taken on the server"))));
  // The keys that match the account are still there.
  EXPECT_THAT(base->Get(Space::kIdentity, "private"), IsOkAndHolds(Not(std::nullopt)));
  ASSERT_OK_AND_ASSIGN(Invite again, rivera_.client->CreateInvite());
  options.invite_code = again.code;
  EXPECT_THAT(Client::Register(options, client::storage::NewMemoryStore()),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace sotto
