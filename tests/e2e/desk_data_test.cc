// The client-library capabilities the desk needs (issue 18), on real profiles
// (encrypted RocksDB in profile directories) against the real server:
//  - drafts survive reopening the profile, are newest first, are not in the
//    profile's files as plaintext, and go away when a send names them — but
//    not when the send is refused;
//  - ListScheduled shows this device's send-later messages, soonest first,
//    and not once cancelled;
//  - PreviewDue gives exactly the due time the server then reports;
//  - SendPendingReceipts sends the read receipts reading queued, at once;
//  - IsLocked reports (and fires) an auto-lock that is due.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile_pair.h"
#include "sotto/client.h"
#include "sotto/clock.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using ::sotto::testing::AnyFileContains;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class DeskDataTest : public sotto::testing::ProfilePairTest {
 protected:
  void ReopenClient() {
    client_.reset();
    ASSERT_OK_AND_ASSIGN(client_, Reopen(client_dir()));
  }
};

TEST_F(DeskDataTest, DraftsSurviveReopenNewestFirstAndAreNotInTheFilesAsPlaintext) {
  const std::string body_marker = "written-at-two-in-the-morning-7c1e5a";
  const std::string subject_marker = "subject-nobody-may-read-93b2";
  Draft letter;
  letter.to = kTherapist;
  letter.kind = MessageKind::kLetter;
  letter.subject = subject_marker;
  letter.body = "Dear Dr Rivera,\n" + body_marker + "\n";
  ASSERT_OK_AND_ASSIGN(Draft saved_letter, client_->SaveDraft(letter));
  EXPECT_EQ(saved_letter.id.size(), 32u);  // made up when empty
  EXPECT_GT(saved_letter.updated_ms, 0);

  Draft text;
  text.id = "0123456789abcdef";  // chosen by the page
  text.to = kTherapist;
  text.body = "a short one";
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_OK(client_->SaveDraft(text).status());

  ASSERT_NO_FATAL_FAILURE(ReopenClient());
  ASSERT_OK_AND_ASSIGN(std::vector<Draft> drafts, client_->ListDrafts());
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].id, "0123456789abcdef");  // saved last
  EXPECT_EQ(drafts[1].id, saved_letter.id);
  EXPECT_EQ(drafts[1].kind, MessageKind::kLetter);
  EXPECT_EQ(drafts[1].subject, subject_marker);
  EXPECT_EQ(drafts[1].body, letter.body);
  EXPECT_EQ(drafts[1].to, kTherapist);

  // Saving the letter again (autosave) replaces it and puts it on top.
  absl::SleepFor(absl::Milliseconds(5));
  saved_letter.body += "more";
  ASSERT_OK(client_->SaveDraft(saved_letter).status());
  ASSERT_OK_AND_ASSIGN(drafts, client_->ListDrafts());
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].id, saved_letter.id);
  EXPECT_EQ(drafts[0].body, saved_letter.body);

  client_.reset();  // everything flushed and closed
  EXPECT_FALSE(AnyFileContains(client_dir(), body_marker));
  EXPECT_FALSE(AnyFileContains(client_dir(), subject_marker));
  EXPECT_FALSE(AnyFileContains(client_dir(), "0123456789abcdef"));  // not even the id
}

TEST_F(DeskDataTest, BadDraftsAreRefusedNamingTheField) {
  Draft d;
  d.id = "Not An Id";
  EXPECT_THAT(client_->SaveDraft(d), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
  d.id = "";
  d.body = std::string(48 * 1024 + 1, 'x');
  EXPECT_THAT(client_->SaveDraft(d),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("draft body")));
  d.body = "fine";
  d.subject = std::string(201, 's');
  EXPECT_THAT(client_->SaveDraft(d),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("draft subject")));
  d.subject = "";
  d.in_reply_to = "not hex";
  EXPECT_THAT(client_->SaveDraft(d),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in_reply_to")));
  ASSERT_OK_AND_ASSIGN(std::vector<Draft> drafts, client_->ListDrafts());
  EXPECT_THAT(drafts, IsEmpty());
  EXPECT_THAT(client_->DeleteDraft("abcdef"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DeskDataTest, SendingFromADraftDeletesItButARefusedSendKeepsIt) {
  Draft d;
  d.id = "draft-one";
  d.to = kTherapist;
  d.body = "hello from a draft";
  ASSERT_OK(client_->SaveDraft(d).status());
  Draft other = d;
  other.id = "draft-two";
  ASSERT_OK(client_->SaveDraft(other).status());

  SendOptions options;
  options.draft_id = "draft-two";
  // Nobody by that name: refused for good, the draft is all the user has.
  EXPECT_FALSE(client_->SendText("nobody-by-that-name", other.body, options).ok());
  ASSERT_OK_AND_ASSIGN(std::vector<Draft> drafts, client_->ListDrafts());
  EXPECT_EQ(drafts.size(), 2u);

  options.draft_id = "draft-one";
  ASSERT_OK(client_->SendText(kTherapist, d.body, options).status());
  ASSERT_OK_AND_ASSIGN(drafts, client_->ListDrafts());
  EXPECT_THAT(drafts, ElementsAre(Field(&Draft::id, "draft-two")));

  // Kept as not sent (server down) is safe too: the draft goes.
  ASSERT_OK(server_->Stop());
  options.draft_id = "draft-two";
  EXPECT_FALSE(client_->SendText(kTherapist, other.body, options).ok());
  ASSERT_OK_AND_ASSIGN(drafts, client_->ListDrafts());
  EXPECT_THAT(drafts, IsEmpty());
}

TEST_F(DeskDataTest, ListScheduledShowsSendLaterSoonestFirstAndNotAfterCancel) {
  const absl::Time now = absl::Now();
  SendOptions later;
  later.deliver_at = now + absl::Hours(2);
  ASSERT_OK_AND_ASSIGN(SendResult in_two_hours,
                       client_->SendText(kTherapist, "in two hours", later));
  later.deliver_at = now + absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(SendResult in_one_hour,
                       client_->SendLetter(kTherapist, "Later", "in one hour", later));
  ASSERT_OK(client_->SendText(kTherapist, "right now").status());

  ASSERT_OK_AND_ASSIGN(std::vector<Message> scheduled, client_->ListScheduled());
  ASSERT_EQ(scheduled.size(), 2u);
  EXPECT_EQ(scheduled[0].id, in_one_hour.message.id);
  EXPECT_EQ(scheduled[1].id, in_two_hours.message.id);
  EXPECT_EQ(scheduled[0].state, DeliveryState::kScheduled);
  EXPECT_EQ(scheduled[0].server_time_ms, absl::ToUnixMillis(now + absl::Hours(1)));

  ASSERT_OK(client_->CancelScheduled(in_one_hour.message.id));
  ASSERT_NO_FATAL_FAILURE(ReopenClient());
  ASSERT_OK_AND_ASSIGN(scheduled, client_->ListScheduled());
  EXPECT_THAT(scheduled, ElementsAre(Field(&Message::id, in_two_hours.message.id)));
  // The therapist, who scheduled nothing, has nothing listed.
  ASSERT_OK_AND_ASSIGN(scheduled, therapist_->ListScheduled());
  EXPECT_THAT(scheduled, IsEmpty());
}

TEST_F(DeskDataTest, PreviewDueIsTheDueTheServerReports) {
  ResponsePolicy policy;
  policy.time_zone = "America/New_York";
  policy.working_days = {1, 2, 3, 4};
  policy.day_start_minute = 9 * 60 + 30;
  policy.day_end_minute = 16 * 60;
  policy.reply_window_minutes = 700;
  ASSERT_OK(therapist_->SetPolicy(policy));

  ASSERT_OK_AND_ASSIGN(SendResult sent, client_->SendText(kTherapist, "when will you answer?"));
  ASSERT_TRUE(sent.expectation.has_value());
  ASSERT_OK_AND_ASSIGN(absl::Time preview,
                       PreviewDue(policy, absl::FromUnixMillis(sent.message.server_time_ms)));
  EXPECT_EQ(absl::ToUnixMillis(preview), sent.expectation->due_ms);

  ASSERT_OK_AND_ASSIGN(QueueView queue, therapist_->ListQueue());
  ASSERT_EQ(queue.entries.size(), 1u);
  ASSERT_OK_AND_ASSIGN(
      preview, PreviewDue(policy, absl::FromUnixMillis(queue.entries[0].oldest_waiting_ms)));
  EXPECT_EQ(absl::ToUnixMillis(preview), queue.entries[0].due_ms);

  policy.day_end_minute = policy.day_start_minute;  // what SetPolicy refuses
  EXPECT_THAT(PreviewDue(policy, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("day_end_minute")));
  EXPECT_THAT(therapist_->SetPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("day_end_minute")));
}

TEST_F(DeskDataTest, ListInvitesShowsTheCodeAndFlipsUsedWhenAClientJoins) {
  // The fixture's client joined with the first invite.
  ASSERT_OK_AND_ASSIGN(std::vector<InviteInfo> invites, therapist_->ListInvites());
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_TRUE(invites[0].used);
  EXPECT_EQ(invites[0].used_by, kClient);

  ASSERT_OK_AND_ASSIGN(Invite invite, therapist_->CreateInvite());
  ASSERT_EQ(invite.id.size(), 16u);
  ASSERT_OK_AND_ASSIGN(invites, therapist_->ListInvites());
  ASSERT_EQ(invites.size(), 2u);
  EXPECT_EQ(invites[0].id, invite.id);
  EXPECT_EQ(invites[0].code, invite.code);  // kept by this device, sealed
  EXPECT_FALSE(invites[0].used);
  EXPECT_EQ(invites[0].expires_at_ms, invite.expires_at_ms);

  RegisterOptions options = Options(dir_.sub("c2"));
  options.handle = "robin-ames";
  options.invite_code = invite.code;
  ASSERT_OK(Client::Register(options).status());
  ASSERT_OK_AND_ASSIGN(invites, therapist_->ListInvites());
  ASSERT_EQ(invites.size(), 2u);
  EXPECT_TRUE(invites[0].used);
  EXPECT_EQ(invites[0].used_by, "robin-ames");
  EXPECT_GE(invites[0].used_ms, invites[0].created_ms);

  EXPECT_THAT(client_->ListInvites(), StatusIs(absl::StatusCode::kPermissionDenied));
}

// The sender sees "read" once the reader's app calls SendPendingReceipts,
// without the reader syncing (the desk calls it after the page reads).
TEST_F(DeskDataTest, SendPendingReceiptsSendsTheReadReceiptsReadingQueued) {
  ASSERT_OK_AND_ASSIGN(SendResult sent, therapist_->SendText(kClient, "read this"));
  ASSERT_OK(client_->Sync().status());
  ASSERT_OK(client_->ReadConversation(kTherapist).status());
  auto state = [&]() -> DeliveryState {
    EXPECT_OK(therapist_->Sync().status());
    auto mine = therapist_->ReadConversation(kClient);
    EXPECT_OK(mine.status());
    if (!mine.ok()) return DeliveryState::kFailed;
    for (const Message& m : *mine) {
      if (m.id == sent.message.id) return m.state;
    }
    return DeliveryState::kFailed;
  };
  EXPECT_EQ(state(), DeliveryState::kDelivered) << "reading alone sends nothing";
  ASSERT_OK(client_->SendPendingReceipts());
  EXPECT_EQ(state(), DeliveryState::kRead);
  ASSERT_OK(client_->Lock());
  EXPECT_THAT(client_->SendPendingReceipts(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// An app that asks IsLocked (the desk's page, the agent) before acting must
// hear "locked" once the idle time has passed, not only after its next call
// found out (issue 18).
TEST_F(DeskDataTest, IsLockedReportsAnAutoLockThatIsDueBeforeAnyCall) {
  client_.reset();
  auto clock = std::make_shared<ManualClock>();
  OpenOptions options;
  options.profile_dir = client_dir();
  options.passphrase = kPassphrase;
  options.auto_lock_after = absl::Minutes(15);
  options.clock = clock;
  ASSERT_OK_AND_ASSIGN(client_, Client::Open(options));
  clock->Advance(absl::Minutes(14));
  EXPECT_FALSE(client_->IsLocked());
  // Asking does not count as a call: the idle time still runs out.
  clock->Advance(absl::Minutes(2));
  EXPECT_TRUE(client_->IsLocked());
  EXPECT_THAT(client_->ListConversations(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("locked")));
  ASSERT_OK(client_->Unlock(kPassphrase));
  EXPECT_FALSE(client_->IsLocked());
}

}  // namespace
}  // namespace sotto
