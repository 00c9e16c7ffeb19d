// Care links, enrolment, the therapist's queue index and send-later, at the
// domain level over real RocksDB with a fake clock.

#include "server/domain/care.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "server/domain/codes.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/enrolment.h"
#include "server/domain/sweeper.h"
#include "testing/server_keys.h"
#include "tests/server/domain_fixture.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kHour = 3600 * 1000;

std::string MessageId(int n) {
  std::string id(kMessageIdBytes, '\0');
  id[0] = static_cast<char>(n);
  return id;
}

class CareTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    enrolment_ = std::make_unique<Enrolment>(store_.get(), accounts_.get(), &clock_,
                                             sotto::testing::TestKey('p'));
    care_ = std::make_unique<Care>(store_.get(), accounts_.get(), enrolment_.get(), &clock_);
    queue_ = std::make_unique<ConversationQueue>(store_.get(), care_.get(), &clock_);
    linked_ = std::make_unique<Mailbox>(store_.get(), accounts_.get(), &clock_, MailboxOptions{},
                                        care_.get(), queue_.get());
  }

  Registration NewReg(const std::string& handle, Role role) {
    Registration reg;
    reg.handle = handle;
    reg.role = role;
    reg.device_secret = Secret('s');
    reg.registration_id = 100;
    reg.keys = MakeDeviceKeys(signal_keys_[handle], 0);
    return reg;
  }

  AuthenticatedDevice Therapist(const std::string& handle) {
    auto code = enrolment_->IssueTherapistCode(handle, 0);
    EXPECT_TRUE(code.ok()) << code.status();
    auto r = care_->Register(NewReg(handle, Role::kTherapist), code->code, "");
    EXPECT_TRUE(r.ok()) << r.status();
    return AuthenticatedDevice{handle, 1, Role::kTherapist};
  }

  AuthenticatedDevice Client(const std::string& handle, const AuthenticatedDevice& therapist) {
    auto invite = care_->CreateInvite(therapist, 0);
    EXPECT_TRUE(invite.ok()) << invite.status();
    auto r = care_->Register(NewReg(handle, Role::kClient), "", invite->code);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r.value_or(RegisterResult{}).linked_therapist, therapist.handle);
    return AuthenticatedDevice{handle, 1, Role::kClient};
  }

  absl::StatusOr<SendResult> Send(const AuthenticatedDevice& from, const std::string& to, int id,
                                  SendOptions options = {}) {
    return linked_->Send(from, to, MessageId(id),
                         {OutgoingEnvelope{1, 100, kEnvelopeTypeCiphertext, "ct"}}, options);
  }

  size_t QueueSize(const AuthenticatedDevice& d) {
    auto r = linked_->Fetch(d, 0, kMaxFetchBatch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->envelopes.size() : 0;
  }

  Conversation Entry(const AuthenticatedDevice& therapist, const std::string& client) {
    auto list = queue_->List(therapist, /*include_all=*/true);
    EXPECT_TRUE(list.ok()) << list.status();
    for (const Conversation& c : list->entries) {
      if (c.client == client) return c;
    }
    return Conversation{};
  }

  std::unique_ptr<Enrolment> enrolment_;
  std::unique_ptr<Care> care_;
  std::unique_ptr<ConversationQueue> queue_;
  std::unique_ptr<Mailbox> linked_;
};

TEST_F(CareTest, EnrolmentCodeWorksOnceNotTwice) {
  auto code = enrolment_->IssueTherapistCode("dr-lee", 0);
  ASSERT_OK(code.status());
  EXPECT_THAT(code->code, ::testing::MatchesRegex("[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}"));
  ASSERT_OK(care_->Register(NewReg("dr-lee", Role::kTherapist), code->code, "").status());
  // Reusing it for another handle, or re-registering, fails.
  EXPECT_THAT(care_->Register(NewReg("dr-lee2", Role::kTherapist), code->code, ""),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kBadEnrolmentCode)));
}

TEST_F(CareTest, EnrolmentCodeFailsAfterExpiryAndForAnotherHandle) {
  auto code = enrolment_->IssueTherapistCode("dr-lee", 1);
  ASSERT_OK(code.status());
  EXPECT_THAT(care_->Register(NewReg("dr-kim", Role::kTherapist), code->code, ""),
              StatusIs(absl::StatusCode::kPermissionDenied, kBadEnrolmentCode));
  clock_.Advance(kHour);
  EXPECT_THAT(care_->Register(NewReg("dr-lee", Role::kTherapist), code->code, ""),
              StatusIs(absl::StatusCode::kPermissionDenied, kBadEnrolmentCode));
  EXPECT_THAT(care_->Register(NewReg("dr-lee", Role::kTherapist), "", ""),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(enrolment_->IssueTherapistCode("dr-lee", kMaxCodeValidHours + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("valid_hours")));
}

TEST_F(CareTest, CodesAreStoredOnlyHashed) {
  auto code = enrolment_->IssueTherapistCode("dr-lee", 0);
  ASSERT_OK(code.status());
  AuthenticatedDevice lee = Therapist("dr-kim");
  auto invite = care_->CreateInvite(lee, 0);
  ASSERT_OK(invite.status());
  store_.reset();  // flush and close: scan every file
  raw_store_.reset();
  std::string normalized_enrol = code->code, normalized_invite = invite->code;
  normalized_enrol.erase(std::remove(normalized_enrol.begin(), normalized_enrol.end(), '-'),
                         normalized_enrol.end());
  normalized_invite.erase(std::remove(normalized_invite.begin(), normalized_invite.end(), '-'),
                          normalized_invite.end());
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& needle :
         {code->code, invite->code, normalized_enrol, normalized_invite}) {
      EXPECT_EQ(data.find(needle), std::string::npos) << f.path();
    }
  }
}

TEST_F(CareTest, InviteIsOneTimeExpiresAndResistsWrongCodes) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  auto invite = care_->CreateInvite(lee, 2);
  ASSERT_OK(invite.status());
  for (int i = 0; i < 200; ++i) {
    auto wrong = *GenerateCode();
    EXPECT_THAT(care_->Register(NewReg("sam", Role::kClient), "", wrong),
                StatusIs(absl::StatusCode::kPermissionDenied, kBadInviteCode));
  }
  auto r = care_->Register(NewReg("sam", Role::kClient), "", invite->code);
  ASSERT_OK(r.status());
  EXPECT_EQ(r->linked_therapist, "dr-lee");
  EXPECT_THAT(care_->Register(NewReg("tom", Role::kClient), "", invite->code),
              StatusIs(absl::StatusCode::kPermissionDenied, kBadInviteCode));
  auto late = care_->CreateInvite(lee, 1);
  clock_.Advance(kHour);
  EXPECT_THAT(care_->Register(NewReg("tom", Role::kClient), "", late->code),
              StatusIs(absl::StatusCode::kPermissionDenied, kBadInviteCode));
  EXPECT_THAT(care_->CreateInvite(AuthenticatedDevice{"sam", 1, Role::kClient}, 0),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(CareTest, ExistingClientAcceptsInviteAndTherapistSeesOnlyOwnLinks) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice kim = Therapist("dr-kim");
  AuthenticatedDevice sam = Client("sam", lee);
  Client("tom", kim);
  auto invite = care_->CreateInvite(kim, 0);
  ASSERT_OK(invite.status());
  EXPECT_THAT(care_->AcceptInvite(kim, invite->code),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(care_->AcceptInvite(sam, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(care_->AcceptInvite(sam, invite->code).status());
  auto lee_links = care_->ListLinks(lee);
  ASSERT_OK(lee_links.status());
  ASSERT_EQ(lee_links->size(), 1u);
  EXPECT_EQ((*lee_links)[0].peer, "sam");
  auto sam_links = care_->ListLinks(sam);
  ASSERT_EQ(sam_links->size(), 2u);  // a care team of two
  EXPECT_EQ(care_->ListLinks(kim)->size(), 2u);
}

TEST_F(CareTest, UnlinkedAndSameRoleSendsAreDenied) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice kim = Therapist("dr-kim");
  AuthenticatedDevice sam = Client("sam", lee);
  AuthenticatedDevice tom = Client("tom", kim);
  EXPECT_THAT(Send(sam, "dr-kim", 1), StatusIs(absl::StatusCode::kPermissionDenied,
                                               HasSubstr("no care link between sam and dr-kim")));
  EXPECT_THAT(Send(sam, "tom", 2), StatusIs(absl::StatusCode::kPermissionDenied));
  // A client cannot tell an unknown handle from an unlinked one.
  EXPECT_THAT(Send(sam, "nobody", 3),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no care link")));
  EXPECT_THAT(Send(lee, "dr-kim", 4), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Send(lee, "tom", 5), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(care_->CheckCanFetchBundle(sam, "tom"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(care_->CheckCanFetchBundle(sam, "nobody"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(care_->CheckCanFetchBundle(sam, "dr-lee"));
  EXPECT_OK(Send(sam, "dr-lee", 6).status());
  EXPECT_EQ(QueueSize(tom), 0u);
}

TEST_F(CareTest, EndedLinkIsFailedPreconditionNamingWhoEndedIt) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(care_->EndLink(sam, "dr-lee"));
  EXPECT_THAT(Send(lee, "sam", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ended by sam")));
  EXPECT_THAT(care_->EndLink(sam, "dr-lee"), StatusIs(absl::StatusCode::kNotFound));
  auto links = care_->ListLinks(lee);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].state, LinkState::kEnded);
  EXPECT_EQ((*links)[0].ended_by, "sam");
}

TEST_F(CareTest, QueueCountsWaitingAndReplyAnswersTheWholeTeam) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice kim = Therapist("dr-kim");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(care_->AcceptInvite(sam, care_->CreateInvite(kim, 0)->code).status());
  const int64_t t0 = clock_.NowMillis();
  auto first = Send(sam, "dr-lee", 1);
  ASSERT_OK(first.status());
  ASSERT_TRUE(first->expectation.has_value());
  EXPECT_GT(first->expectation->due_ms, t0);
  EXPECT_THAT(first->expectation->emergency_note, HasSubstr("988"));
  clock_.Advance(1000);
  ASSERT_OK(Send(sam, "dr-lee", 2).status());
  ASSERT_OK(Send(sam, "dr-kim", 3).status());
  Conversation c = Entry(lee, "sam");
  EXPECT_EQ(c.state, ConversationState::kWaiting);
  EXPECT_EQ(c.waiting_count, 2u);
  EXPECT_EQ(c.oldest_waiting_ms, t0);
  EXPECT_GT(c.due_ms, 0);
  // Receipts never touch the index.
  ASSERT_OK(Send(lee, "sam", 4, SendOptions{SendKind::kReceipt, 0}).status());
  EXPECT_EQ(Entry(lee, "sam").waiting_count, 2u);
  // Kim's reply answers the client for the whole team.
  ASSERT_OK(Send(kim, "sam", 5).status());
  EXPECT_EQ(Entry(lee, "sam").state, ConversationState::kAnswered);
  EXPECT_EQ(Entry(lee, "sam").waiting_count, 0u);
  EXPECT_EQ(Entry(kim, "sam").state, ConversationState::kAnswered);
  EXPECT_EQ(Entry(kim, "sam").last_reply_ms, clock_.NowMillis());
  EXPECT_TRUE(queue_->List(lee, false)->entries.empty());
}

TEST_F(CareTest, SnoozeHidesUntilTimeCloseAndNewMessageReopens) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(Send(sam, "dr-lee", 1).status());
  EXPECT_THAT(queue_->Snooze(lee, "sam", clock_.NowMillis() - 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("until_ms")));
  ASSERT_OK(queue_->Snooze(lee, "sam", clock_.NowMillis() + kHour).status());
  EXPECT_TRUE(queue_->List(lee, false)->entries.empty());
  clock_.Advance(kHour);
  auto back = queue_->List(lee, false);
  ASSERT_EQ(back->entries.size(), 1u);
  EXPECT_EQ(back->entries[0].state, ConversationState::kWaiting);
  ASSERT_OK(queue_->Close(lee, "sam").status());
  EXPECT_TRUE(queue_->List(lee, false)->entries.empty());
  EXPECT_THAT(queue_->Snooze(lee, "sam", clock_.NowMillis() + kHour),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(Send(sam, "dr-lee", 2).status());
  auto reopened = queue_->List(lee, false);
  ASSERT_EQ(reopened->entries.size(), 1u);
  EXPECT_EQ(reopened->entries[0].waiting_count, 1u);
  EXPECT_THAT(queue_->List(sam, false), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(queue_->Close(lee, "No!"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CareTest, ClaimAcrossATeamOfTwoAndConflict) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice kim = Therapist("dr-kim");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(care_->AcceptInvite(sam, care_->CreateInvite(kim, 0)->code).status());
  ASSERT_OK(Send(sam, "dr-lee", 1).status());
  ASSERT_OK(Send(sam, "dr-kim", 2).status());
  auto claimed = queue_->Claim(lee, "sam");
  ASSERT_OK(claimed.status());
  EXPECT_EQ(claimed->claimed_by, "dr-lee");
  EXPECT_EQ(Entry(kim, "sam").claimed_by, "dr-lee");
  EXPECT_THAT(queue_->Claim(kim, "sam"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("claimed by dr-lee")));
  ASSERT_OK(Send(lee, "sam", 3).status());
  EXPECT_THAT(queue_->Claim(lee, "sam"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not waiting")));
}

TEST_F(CareTest, SendLaterIsHeldUntilDueThenReleasedAndCancellable) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  const int64_t at = clock_.NowMillis() + kHour;
  auto r = Send(sam, "dr-lee", 1, SendOptions{SendKind::kMessage, at});
  ASSERT_OK(r.status());
  EXPECT_EQ(r->deliver_at_ms, at);
  ASSERT_OK(Send(sam, "dr-lee", 2, SendOptions{SendKind::kMessage, at + 1}).status());
  EXPECT_THAT(Send(sam, "dr-lee", 3, SendOptions{SendKind::kReceipt, at}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Send(sam, "dr-lee", 4,
                   SendOptions{SendKind::kMessage, clock_.NowMillis() + kMaxScheduleAheadMs + 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deliver_at_ms")));
  auto next = linked_->ReleaseDue();
  ASSERT_OK(next.status());
  EXPECT_EQ(next->value_or(0), at);
  EXPECT_EQ(QueueSize(lee), 0u);
  EXPECT_TRUE(queue_->List(lee, true)->entries.empty());
  ASSERT_OK(linked_->CancelScheduled(sam, MessageId(2)));
  clock_.Set(at);
  ASSERT_OK(linked_->ReleaseDue().status());
  auto fetched = linked_->Fetch(lee, 0, 10);
  ASSERT_EQ(fetched->envelopes.size(), 1u);
  EXPECT_EQ(fetched->envelopes[0].server_time_ms, at);
  EXPECT_EQ(Entry(lee, "sam").waiting_count, 1u);
  EXPECT_THAT(linked_->CancelScheduled(sam, MessageId(1)), StatusIs(absl::StatusCode::kNotFound));
  clock_.Advance(kHour);
  ASSERT_OK(linked_->ReleaseDue().status());
  EXPECT_EQ(QueueSize(lee), 1u);  // the cancelled one never arrives
}

TEST_F(CareTest, SendLaterIsDroppedIfTheLinkEndedBeforeRelease) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(
      Send(sam, "dr-lee", 1, SendOptions{SendKind::kMessage, clock_.NowMillis() + 10}).status());
  ASSERT_OK(care_->EndLink(lee, "sam"));
  clock_.Advance(10);
  ASSERT_OK(linked_->ReleaseDue().status());
  EXPECT_EQ(QueueSize(lee), 0u);
  EXPECT_THAT(linked_->CancelScheduled(sam, MessageId(1)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CareTest, SendLaterWrittenBeforeTheLinkEndedIsNotDeliveredAfterARelink) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  const int64_t at = clock_.NowMillis() + kHour;
  ASSERT_OK(Send(sam, "dr-lee", 1, SendOptions{SendKind::kMessage, at}).status());
  clock_.Advance(1);
  ASSERT_OK(care_->EndLink(sam, "dr-lee"));
  clock_.Advance(1);
  auto invite = care_->CreateInvite(lee, 0);
  ASSERT_OK(invite.status());
  ASSERT_OK(care_->AcceptInvite(sam, invite->code).status());
  clock_.Set(at);
  ASSERT_OK(linked_->ReleaseDue().status());
  EXPECT_EQ(QueueSize(lee), 0u);
  EXPECT_TRUE(queue_->List(lee, /*include_all=*/true)->entries.empty());
  // Written under the new link: delivered.
  ASSERT_OK(Send(sam, "dr-lee", 2, SendOptions{SendKind::kMessage, at + 10}).status());
  clock_.Advance(10);
  ASSERT_OK(linked_->ReleaseDue().status());
  EXPECT_EQ(QueueSize(lee), 1u);
}

TEST_F(CareTest, ScheduledMessagesPerDeviceAreCapped) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  AuthenticatedDevice kim = Client("kim", lee);
  MailboxOptions options;
  options.max_scheduled_per_device = 2;
  Mailbox capped(store_.get(), accounts_.get(), &clock_, options, care_.get(), queue_.get());
  auto later = [&](const AuthenticatedDevice& from, int id) {
    return capped.Send(from, "dr-lee", MessageId(id),
                       {OutgoingEnvelope{1, 100, kEnvelopeTypeCiphertext, "ct"}},
                       SendOptions{SendKind::kMessage, clock_.NowMillis() + kHour});
  };
  ASSERT_OK(later(sam, 1).status());
  ASSERT_OK(later(sam, 2).status());
  EXPECT_THAT(later(sam, 3), StatusIs(absl::StatusCode::kResourceExhausted,
                                      HasSubstr("sam.1 already has 2 scheduled messages")));
  // A retry of a held one is still a duplicate, another device is not
  // affected, and immediate sends are not limited.
  ASSERT_OK_AND_ASSIGN(SendResult dup, later(sam, 2));
  EXPECT_TRUE(dup.duplicate);
  ASSERT_OK(later(kim, 1).status());
  ASSERT_OK(capped
                .Send(sam, "dr-lee", MessageId(4),
                      {OutgoingEnvelope{1, 100, kEnvelopeTypeCiphertext, "now"}})
                .status());
  // Cancelling one frees a place.
  ASSERT_OK(capped.CancelScheduled(sam, MessageId(1)));
  ASSERT_OK(later(sam, 3).status());
  EXPECT_EQ(kMaxScheduledPerDevice, 1000u);
}

TEST_F(CareTest, SweeperDeletesExpiredCodesAndIdempotencyRecords) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice sam = Client("sam", lee);
  ASSERT_OK(Send(sam, "dr-lee", 1).status());
  // Held 30 days: its record is kept until a week after its release.
  ASSERT_OK(
      Send(sam, "dr-lee", 2, SendOptions{SendKind::kMessage, clock_.NowMillis() + 30 * 24 * kHour})
          .status());
  ASSERT_OK(enrolment_->IssueTherapistCode("dr-short", 1).status());
  ASSERT_OK(enrolment_->IssueTherapistCode("dr-long", 48).status());
  ASSERT_OK(care_->CreateInvite(lee, 1).status());
  ASSERT_OK(care_->CreateInvite(lee, 48).status());
  auto rows = [&](Table t) {
    auto r = store_->Scan(t, "", "", 100);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->size() : 0;
  };
  ASSERT_EQ(rows(Table::kEnrolments), 2u);
  ASSERT_EQ(rows(Table::kInvites), 2u);
  Sweeper sweeper(linked_.get(), enrolment_.get(), care_.get());
  ASSERT_OK_AND_ASSIGN(SweepCounts none, sweeper.SweepOnce());
  EXPECT_EQ(none.idempotency + none.enrolments + none.invites, 0u);

  clock_.Advance(kHour);
  ASSERT_OK_AND_ASSIGN(SweepCounts codes, sweeper.SweepOnce());
  EXPECT_EQ(codes.enrolments, 1u);
  EXPECT_EQ(codes.invites, 1u);
  EXPECT_EQ(rows(Table::kEnrolments), 1u);
  EXPECT_EQ(rows(Table::kInvites), 1u);

  clock_.Advance(kIdempotencyRetentionMs);
  ASSERT_OK_AND_ASSIGN(SweepCounts week, sweeper.SweepOnce());
  EXPECT_EQ(week.idempotency, 1u);
  EXPECT_EQ(week.enrolments, 1u);
  EXPECT_EQ(week.invites, 1u);
  EXPECT_EQ(rows(Table::kIdempotency), 1u);  // the held message's
  EXPECT_EQ(rows(Table::kEnrolments) + rows(Table::kInvites), 0u);

  clock_.Advance(30 * 24 * kHour);
  ASSERT_OK(linked_->ReleaseDue().status());
  ASSERT_OK_AND_ASSIGN(SweepCounts released, sweeper.SweepOnce());
  EXPECT_EQ(released.idempotency, 1u);
  EXPECT_EQ(rows(Table::kIdempotency), 0u);
}

TEST_F(CareTest, SweeperThreadStartsWithASweepAndStopsCleanly) {
  ASSERT_OK(enrolment_->IssueTherapistCode("dr-short", 1).status());
  clock_.Advance(kHour);
  Sweeper sweeper(linked_.get(), enrolment_.get(), care_.get());
  sweeper.Start();
  // The thread sweeps before it first looks at Stop, so once Stop has
  // joined it, that sweep is done.
  sweeper.Stop();
  sweeper.Stop();
  EXPECT_TRUE(store_->Scan(Table::kEnrolments, "", "", 10)->empty());
}

TEST_F(CareTest, PolicyIsSetByTherapistAndReadByLinkedClientsOnly) {
  AuthenticatedDevice lee = Therapist("dr-lee");
  AuthenticatedDevice kim = Therapist("dr-kim");
  AuthenticatedDevice sam = Client("sam", lee);
  AuthenticatedDevice tom = Client("tom", kim);
  auto def = care_->GetPolicy(sam, "dr-lee");
  ASSERT_OK(def.status());
  EXPECT_EQ(def->policy.reply_window_minutes, 480);
  ResponsePolicy p = DefaultPolicy();
  p.time_zone = "Not/AZone";
  EXPECT_THAT(care_->SetPolicy(lee, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_zone")));
  p = DefaultPolicy();
  p.reply_window_minutes = 60;
  EXPECT_THAT(care_->SetPolicy(sam, p), StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_OK(care_->SetPolicy(lee, p));
  EXPECT_EQ(care_->GetPolicy(sam, "dr-lee")->policy.reply_window_minutes, 60);
  EXPECT_EQ(care_->GetPolicy(lee, "dr-lee")->policy.reply_window_minutes, 60);
  EXPECT_THAT(care_->GetPolicy(tom, "dr-lee"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(care_->GetPolicy(tom, "nobody"), StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace sotto::server
