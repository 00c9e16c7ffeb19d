// The durability each domain operation asks of the Store. A SIGKILL test
// (crash_durability_test) cannot catch a missing sync: the OS page cache
// survives the process. So this records every Write and PopFirst through a
// Store wrapper over real RocksDB and checks that whatever a reply promises
// is requested as Durability::kSynced, or written unsynced and followed by a
// SyncLog before the reply (after letting go of a lock that Sends share).

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "server/domain/care.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/enrolment.h"
#include "server/storage/log_syncer.h"
#include "testing/server_keys.h"
#include "tests/server/domain_fixture.h"

namespace sotto::server {
namespace {

using ::testing::Each;
using ::testing::Eq;
using ::testing::IsEmpty;
using ::testing::Not;

// Passes every call to `inner` and records the durability of each mutation.
class RecordingStore final : public ForwardingStore {
 public:
  explicit RecordingStore(Store* inner) : ForwardingStore(inner) {}

  absl::Status Write(const WriteBatch& batch, Durability durability) override {
    Record(durability);
    return ForwardingStore::Write(batch, durability);
  }
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override {
    Record(durability);
    return ForwardingStore::PopFirst(table, prefix, durability);
  }
  absl::Status SyncLog() override {
    Record(kLogSync);
    return ForwardingStore::SyncLog();
  }

  // Recorded for a SyncLog call (not a Durability a Write can ask for).
  static constexpr Durability kLogSync = static_cast<Durability>(100);

  // The durabilities requested since the last call, oldest first; kLogSync
  // for each SyncLog.
  std::vector<Durability> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(recorded_, {});
  }
  // The same, without forgetting them.
  std::vector<Durability> Peek() {
    absl::MutexLock lock(&mu_);
    return recorded_;
  }

 private:
  void Record(Durability d) {
    absl::MutexLock lock(&mu_);
    recorded_.push_back(d);
  }

  absl::Mutex mu_;
  std::vector<Durability> recorded_ ABSL_GUARDED_BY(mu_);
};

class DurabilityContractTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    recording_ = std::make_unique<RecordingStore>(store_.get());
    Store* s = recording_.get();
    accounts_ = std::make_unique<Accounts>(s);
    keys_ = std::make_unique<KeyDirectory>(s, accounts_.get());
    enrolment_ =
        std::make_unique<Enrolment>(s, accounts_.get(), &clock_, sotto::testing::TestKey('p'));
    care_ = std::make_unique<Care>(s, accounts_.get(), enrolment_.get(), &clock_);
    queue_ = std::make_unique<ConversationQueue>(s, care_.get(), &clock_);
    mailbox_ = std::make_unique<Mailbox>(s, accounts_.get(), &clock_, MailboxOptions{}, care_.get(),
                                         queue_.get());
  }

  Registration NewReg(const std::string& handle, Role role, size_t prekeys) {
    Registration reg;
    reg.handle = handle;
    reg.role = role;
    reg.device_secret = Secret('s');
    reg.registration_id = 100;
    reg.keys = MakeDeviceKeys(signal_keys_[handle], prekeys);
    return reg;
  }

  // Every mutation since the last check was requested synced, and there was
  // at least one.
  void ExpectAllSynced(const std::string& what) {
    std::vector<Durability> d = recording_->Take();
    EXPECT_THAT(d, Not(IsEmpty())) << what;
    EXPECT_THAT(d, Each(Eq(Durability::kSynced))) << what;
  }

  // There was a mutation since the last check, and each one was synced or
  // is followed by a SyncLog before the operation returned: written
  // unsynced under a lock that Sends share, synced after it was released.
  void ExpectSyncedAfterTheLock(const std::string& what) {
    std::vector<Durability> d = recording_->Take();
    EXPECT_THAT(d, Not(IsEmpty())) << what;
    bool covered = true;  // no unsynced write since the last SyncLog
    for (Durability x : d) {
      if (x == Durability::kBuffered) covered = false;
      if (x == RecordingStore::kLogSync) covered = true;
    }
    EXPECT_TRUE(covered) << what << ": an unsynced write was not followed by a log sync";
    EXPECT_THAT(d, Not(::testing::Contains(Durability::kSynced)))
        << what << ": a synced write under a lock that Sends share";
  }

  // dr-lee (therapist) and sam, her client, registered and linked.
  void RegisterLeeAndSam() {
    auto code = enrolment_->IssueTherapistCode("dr-lee", 0);
    ASSERT_OK(code.status());
    ASSERT_OK(care_->Register(NewReg("dr-lee", Role::kTherapist, 3), code->code, "").status());
    auto invite = care_->CreateInvite(lee_, 0);
    ASSERT_OK(invite.status());
    ASSERT_OK(care_->Register(NewReg("sam", Role::kClient, 3), "", invite->code).status());
  }

  const AuthenticatedDevice lee_{"dr-lee", 1, Role::kTherapist};
  const AuthenticatedDevice sam_{"sam", 1, Role::kClient};
  std::unique_ptr<RecordingStore> recording_;
  std::unique_ptr<Enrolment> enrolment_;
  std::unique_ptr<Care> care_;
  std::unique_ptr<ConversationQueue> queue_;
};

TEST_F(DurabilityContractTest, EveryAcknowledgedChangeIsSyncedBeforeItReturns) {
  auto code = enrolment_->IssueTherapistCode("dr-lee", 0);
  ASSERT_OK(code.status());
  ExpectAllSynced("EnrolTherapist");
  ASSERT_OK(care_->Register(NewReg("dr-lee", Role::kTherapist, 3), code->code, "").status());
  ExpectAllSynced("Register (therapist)");
  AuthenticatedDevice lee{"dr-lee", 1, Role::kTherapist};
  auto invite = care_->CreateInvite(lee, 0);
  ASSERT_OK(invite.status());
  ExpectAllSynced("CreateInvite");
  ASSERT_OK(care_->Register(NewReg("sam", Role::kClient, 3), "", invite->code).status());
  ExpectAllSynced("Register (client)");
  AuthenticatedDevice sam{"sam", 1, Role::kClient};

  // The one-time prekey pop: a lost pop would hand the key out twice.
  auto bundle = keys_->GetBundle("dr-lee");
  ASSERT_OK(bundle.status());
  ASSERT_TRUE((*bundle)[0].one_time_prekey.has_value());
  ExpectAllSynced("GetBundle");

  const std::vector<OutgoingEnvelope> env = {OutgoingEnvelope{1, 100, kEnvelopeTypePreKey, "ct"}};
  ASSERT_OK(mailbox_->Send(sam, "dr-lee", std::string(kMessageIdBytes, 'a'), env).status());
  ExpectAllSynced("Send");
  ASSERT_OK(mailbox_->Ack(lee, {1}).status());
  ExpectAllSynced("Ack");

  const int64_t at = clock_.NowMillis() + 1000;
  ASSERT_OK(mailbox_
                ->Send(sam, "dr-lee", std::string(kMessageIdBytes, 'b'), env,
                       SendOptions{SendKind::kMessage, at})
                .status());
  ExpectAllSynced("Send (scheduled)");
  ASSERT_OK(mailbox_->CancelScheduled(sam, std::string(kMessageIdBytes, 'b')));
  ExpectSyncedAfterTheLock("CancelScheduled");
  ASSERT_OK(mailbox_
                ->Send(sam, "dr-lee", std::string(kMessageIdBytes, 'c'), env,
                       SendOptions{SendKind::kMessage, at})
                .status());
  recording_->Take();
  clock_.Set(at);
  // The recipient hears of a released message only once it is durable.
  std::vector<Durability> at_wake;
  Mailbox::ListenerId listener =
      mailbox_->AddListener("dr-lee", 1, [&](const StoredEnvelope* added) {
        at_wake = recording_->Peek();
        // A release does not hand over what it queued: subscribers read it.
        EXPECT_EQ(added, nullptr);
      });
  ASSERT_OK(mailbox_->ReleaseDue().status());
  mailbox_->RemoveListener(listener);
  ASSERT_THAT(at_wake, Not(IsEmpty())) << "the release woke nobody";
  EXPECT_EQ(at_wake.back(), RecordingStore::kLogSync) << "woken before the release was synced";
  ExpectSyncedAfterTheLock("ReleaseDue");

  ASSERT_OK(queue_->Claim(lee, "sam").status());
  ExpectSyncedAfterTheLock("Claim");
  ASSERT_OK(queue_->Snooze(lee, "sam", clock_.NowMillis() + 3600 * 1000).status());
  ExpectSyncedAfterTheLock("Snooze");
  ASSERT_OK(queue_->Close(lee, "sam").status());
  ExpectSyncedAfterTheLock("Close");
  ASSERT_OK(care_->EndLink(lee, "sam"));
  ExpectAllSynced("EndLink");
}

// The retention sweep deletes under each queue's lock without waiting for
// the disk (a Send to that queue must not), then syncs once before it
// returns: a swept envelope does not come back after a crash.
TEST_F(DurabilityContractTest, TheRetentionSweepSyncsItsDeletionsBeforeItReturns) {
  RegisterLeeAndSam();
  const AuthenticatedDevice& sam = sam_;
  MailboxOptions options;
  options.retention_ms = 1000;
  Mailbox mailbox(recording_.get(), accounts_.get(), &clock_, options, care_.get(), queue_.get());
  for (char id : {'a', 'b'}) {
    ASSERT_OK(mailbox
                  .Send(sam, "dr-lee", std::string(kMessageIdBytes, id),
                        {OutgoingEnvelope{1, 100, kEnvelopeTypePreKey, "ct"}})
                  .status());
  }
  clock_.Advance(1000);
  recording_->Take();
  auto swept = mailbox.SweepExpiredEnvelopes();
  ASSERT_OK(swept.status());
  EXPECT_EQ(*swept, 2u);
  std::vector<Durability> d = recording_->Take();
  ASSERT_THAT(d, Not(IsEmpty()));
  EXPECT_EQ(d.back(), RecordingStore::kLogSync) << "the sweep returned before a log sync";
  EXPECT_THAT(d, Each(Not(Eq(Durability::kSynced))))
      << "a synced write under a queue lock holds up Sends to that queue";
}

// The server's Send (group commit): the envelope is written buffered, the
// recipient's subscriptions hear nothing yet, and the acknowledgement waits
// for a log sync that followed the write.
TEST_F(DurabilityContractTest, DeferredSendIsAcknowledgedOnlyAfterALogSync) {
  RegisterLeeAndSam();
  const AuthenticatedDevice& sam = sam_;
  // The server's arrangement: the Mailbox hands its acknowledgement to the
  // store's WhenDurable, here held until the test's log syncer has synced.
  HeldDurabilityStore held(recording_.get());
  Mailbox mailbox(&held, accounts_.get(), &clock_, MailboxOptions{}, care_.get(), queue_.get());
  std::atomic<int> woken{0};
  std::string delivered_ciphertext;
  Mailbox::ListenerId listener = mailbox.AddListener("dr-lee", 1, [&](const StoredEnvelope* added) {
    ++woken;
    ASSERT_NE(added, nullptr) << "a Send's wake-up carries what it queued";
    delivered_ciphertext = added->ciphertext;
  });
  recording_->Take();

  absl::Notification acknowledged;
  mailbox.Send(sam, "dr-lee", std::string(kMessageIdBytes, 'd'),
               {OutgoingEnvelope{1, 100, kEnvelopeTypePreKey, "ct"}}, SendOptions{},
               [&](absl::StatusOr<SendResult> sent) {
                 EXPECT_OK(sent.status());
                 acknowledged.Notify();
               });
  EXPECT_THAT(recording_->Take(), ::testing::ElementsAre(Durability::kBuffered));
  EXPECT_EQ(woken.load(), 0) << "a subscriber heard of a Send before it was durable";
  EXPECT_FALSE(acknowledged.HasBeenNotified()) << "acknowledged before a log sync";
  ASSERT_EQ(held.waiting(), 1u);

  LogSyncer syncer(recording_.get());
  syncer.AfterSync([&](absl::Status synced) {
    EXPECT_OK(synced);
    // The sync happened before the acknowledgement runs.
    EXPECT_THAT(recording_->Take(), ::testing::ElementsAre(RecordingStore::kLogSync));
    held.Release(synced);
  });
  ASSERT_TRUE(acknowledged.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(delivered_ciphertext, "ct");
  mailbox.RemoveListener(listener);
}

}  // namespace
}  // namespace sotto::server
