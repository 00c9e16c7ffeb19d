// Email notifications without content (issue 20), through the real
// sotto-server binary and a real SMTP server on loopback (smtp_sink.h):
// what arrives, how often, what never arrives, and what the server keeps.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/server_process.h"
#include "testing/smtp_sink.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::FreeLoopbackPort;
using ::sotto::testing::Party;
using ::sotto::testing::RawConnection;
using ::sotto::testing::ReadEverything;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::ServerProcess;
using ::sotto::testing::SmtpSink;
using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

// Handles and words with letters no header, date or hex id could produce.
constexpr char kTherapist[] = "dr-yarrow";
constexpr char kClient[] = "quill-wren";
constexpr char kAddress[] = "reader@example.org";
constexpr absl::Duration kDelay = absl::Seconds(2);

// The server mailing through `sink` after a 2 s coalescing window, retrying
// a failing relay after 1 s (then 2, 4 …).
absl::StatusOr<std::unique_ptr<ServerProcess>> StartServer(const SmtpSink& sink) {
  return ServerProcess::Start(ServerProcess::kDefaultBinary,
                              {"--smtp-relay", sink.relay(), "--smtp-from", "sotto@clinic.example",
                               "--notify-delay-seconds", "2", "--notify-retry-seconds", "1"});
}

class NotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_unique<SmtpSink>(FreeLoopbackPort());
    ASSERT_OK(sink_->Start());
    ASSERT_OK_AND_ASSIGN(server_, StartServer(*sink_));
    ASSERT_OK_AND_ASSIGN(therapist_, RegisterTherapist(*server_, kTherapist));
    ASSERT_OK_AND_ASSIGN(client_, RegisterClient(server_->address(), kClient, therapist_));
  }

  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<ServerProcess> server_;
  Party therapist_;
  Party client_;
};

TEST_F(NotificationsTest, BurstGivesOneMailWithoutSenderTextOrHandle) {
  ASSERT_OK_AND_ASSIGN(NotificationSettings set, client_.client->SetEmailNotifications(kAddress));
  EXPECT_EQ(set.mode, NotificationMode::kEachMessage);
  EXPECT_EQ(set.email, kAddress);
  const std::vector<std::string> texts = {"zygote kumquat one", "zygote kumquat two",
                                          "zygote kumquat three"};
  for (const std::string& t : texts) ASSERT_OK(therapist_.client->SendText(kClient, t));

  std::vector<std::string> mails = sink_->WaitForMails(1, absl::Seconds(15));
  ASSERT_EQ(mails.size(), 1u);
  // Past the coalescing window twice over: still one mail for the burst.
  absl::SleepFor(2 * kDelay + absl::Milliseconds(500));
  mails = sink_->Mails();
  ASSERT_EQ(mails.size(), 1u);
  const std::string& mail = mails[0];
  EXPECT_THAT(mail, HasSubstr("X-Sink-Rcpt-To: reader@example.org"));
  EXPECT_THAT(mail, HasSubstr("You have a new message on Sotto"));
  EXPECT_THAT(mail, HasSubstr("Subject: New message on Sotto\r\n"));
  for (const char* secret : {kTherapist, kClient, "yarrow", "quill", "zygote", "kumquat"}) {
    EXPECT_FALSE(absl::StrContains(mail, secret)) << secret << " is in the mail:\n" << mail;
  }
  // Nothing was lost to the mail: the client reads all three.
  ASSERT_OK(client_.client->Sync());
  ASSERT_OK_AND_ASSIGN(auto view, client_.client->ReadConversation(kTherapist));
  ASSERT_EQ(view.size(), texts.size());
}

TEST_F(NotificationsTest, OptOutStopsMailAndForgetsTheAddress) {
  ASSERT_OK(client_.client->SetEmailNotifications(kAddress).status());
  ASSERT_OK(client_.client->DisableNotifications());
  ASSERT_OK_AND_ASSIGN(NotificationSettings now, client_.client->GetNotificationSettings());
  EXPECT_EQ(now.mode, NotificationMode::kOff);
  EXPECT_EQ(now.email, "");
  EXPECT_TRUE(now.server_sends_mail);
  ASSERT_OK(therapist_.client->SendText(kClient, "after opting out"));
  absl::SleepFor(kDelay + absl::Seconds(2));
  EXPECT_TRUE(sink_->Mails().empty());
}

TEST_F(NotificationsTest, ListeningClientGetsNoMail) {
  ASSERT_OK(client_.client->SetEmailNotifications(kAddress).status());
  // A Subscribe stream of the client's device, held open while the message
  // arrives and the mail would fall due.
  auto raw = RawConnection(server_->address(), client_);
  auto stream = raw->Subscribe();
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_OK(therapist_.client->SendText(kClient, "read live"));
  absl::SleepFor(kDelay + absl::Seconds(3));
  EXPECT_TRUE(sink_->Mails().empty());
  // Once the stream is gone, the next message is mailed: the mail above
  // was held back by the stream, not by anything else.
  stream->Cancel();
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_OK(therapist_.client->SendText(kClient, "not listening now"));
  EXPECT_EQ(sink_->WaitForMails(1, absl::Seconds(15)).size(), 1u);
}

TEST_F(NotificationsTest, TherapistDigestHasCountAndDueTime) {
  ASSERT_OK_AND_ASSIGN(Party second, RegisterClient(server_->address(), "second-wren", therapist_));
  ASSERT_OK_AND_ASSIGN(NotificationSettings set,
                       therapist_.client->SetEmailNotifications(kAddress, absl::Minutes(15)));
  EXPECT_EQ(set.mode, NotificationMode::kDigest);
  EXPECT_EQ(set.digest_interval_minutes, 15u);
  ASSERT_OK(client_.client->SendText(kTherapist, "zygote first"));
  ASSERT_OK(second.client->SendText(kTherapist, "zygote second"));

  std::vector<std::string> mails = sink_->WaitForMails(1, absl::Seconds(15));
  ASSERT_EQ(mails.size(), 1u);
  ASSERT_OK_AND_ASSIGN(QueueView queue, therapist_.client->ListQueue());
  ASSERT_EQ(queue.entries.size(), 2u);
  const std::string due =
      absl::FormatTime("%H:%M", absl::FromUnixMillis(queue.entries[0].due_ms), absl::UTCTimeZone());
  EXPECT_THAT(mails[0], HasSubstr(absl::StrCat("2 people are waiting; the oldest is due at ", due)))
      << mails[0];
  EXPECT_THAT(mails[0], HasSubstr("(UTC)"));
  for (const char* secret : {kClient, "second-wren", "wren", "zygote", "yarrow"}) {
    EXPECT_FALSE(absl::StrContains(mails[0], secret)) << secret << " is in the digest";
  }
  // A client cannot ask for a digest.
  EXPECT_THAT(client_.client->SetEmailNotifications(kAddress, absl::Minutes(15)).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(NotificationsTest, RelayDownDoesNotFailSendsAndMailArrivesWhenItIsBack) {
  ASSERT_OK(client_.client->SetEmailNotifications(kAddress).status());
  sink_->Stop();
  for (int i = 0; i < 3; ++i) ASSERT_OK(therapist_.client->SendText(kClient, "while down"));
  absl::SleepFor(kDelay + absl::Seconds(2));  // the mail falls due, fails, is retried
  ASSERT_OK(sink_->Start());
  std::vector<std::string> mails = sink_->WaitForMails(1, absl::Seconds(30));
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0], HasSubstr("You have a new message on Sotto"));
  ASSERT_OK(client_.client->Sync());
  ASSERT_OK_AND_ASSIGN(auto view, client_.client->ReadConversation(kTherapist));
  EXPECT_EQ(view.size(), 3u);
}

TEST_F(NotificationsTest, MalformedAddressesAreRefusedNamingTheField) {
  auto raw = RawConnection(server_->address(), client_);
  for (const std::string& bad :
       {std::string("reader@example.org\r\nBcc: victim@example.org"),
        std::string("reader@example.org\n"), absl::StrCat(std::string(250, 'a'), "@example.org"),
        std::string("no-at-sign.example.org"), std::string(""), std::string("a b@example.org"),
        std::string("reader@localhost")}) {
    v1::SetEmailRequest request;
    request.set_email(bad);
    request.set_mode(v1::NOTIFICATION_EACH_MESSAGE);
    EXPECT_THAT(raw->SetEmailNotifications(request).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("email")))
        << bad;
    // The client library refuses them before sending.
    EXPECT_THAT(client_.client->SetEmailNotifications(bad).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("email")));
  }
  v1::SetEmailRequest no_mode;
  no_mode.set_email(kAddress);
  EXPECT_THAT(raw->SetEmailNotifications(no_mode).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  // Nothing was stored by any of them.
  ASSERT_OK_AND_ASSIGN(NotificationSettings now, client_.client->GetNotificationSettings());
  EXPECT_EQ(now.mode, NotificationMode::kOff);
}

TEST_F(NotificationsTest, UnauthenticatedCallsAreRefused) {
  client::transport::Connection anonymous(server_->address());
  v1::SetEmailRequest request;
  request.set_email(kAddress);
  request.set_mode(v1::NOTIFICATION_EACH_MESSAGE);
  EXPECT_THAT(anonymous.SetEmailNotifications(request).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(anonymous.GetNotifications().status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(anonymous.DisableNotifications(), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(NotificationsTest, AddressGoesWithTheAccountAndIsNotInTheDataDirectoryInClear) {
  ASSERT_OK(client_.client->SetEmailNotifications(kAddress).status());
  // Deleted with the account: whoever registers the handle next finds
  // notifications off.
  ASSERT_OK(client_.client->DeleteAccount(kClient));
  ASSERT_OK_AND_ASSIGN(Party next, RegisterClient(server_->address(), kClient, therapist_));
  ASSERT_OK_AND_ASSIGN(NotificationSettings theirs, next.client->GetNotificationSettings());
  EXPECT_EQ(theirs.mode, NotificationMode::kOff);
  EXPECT_EQ(theirs.email, "");

  const std::string address = "distinctive-xq7@example.org";
  ASSERT_OK(next.client->SetEmailNotifications(address).status());
  ASSERT_OK_AND_ASSIGN(NotificationSettings got, next.client->GetNotificationSettings());
  EXPECT_EQ(got.email, address);
  // A clean stop writes all RocksDB will write; then every byte is read
  // (and PostgreSQL's tables and WAL, when the server stores there).
  ASSERT_OK(server_->Stop());
  std::string stored = ReadEverything(server_->data_dir());
  if (server_->postgres() != nullptr) stored += ReadEverything(server_->postgres()->data_dir());
  ASSERT_FALSE(stored.empty());
  EXPECT_FALSE(absl::StrContains(stored, "distinctive-xq7")) << "the address is stored in clear";
  // Sealed, not lost: the restarted server still has it.
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(auto again, RawConnection(server_->address(), next)->GetNotifications());
  EXPECT_EQ(again.email(), address);
}

TEST(NotificationsWithoutRelayTest, SetIsRefusedAndGetSaysSo) {
  ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  ASSERT_OK_AND_ASSIGN(Party therapist, RegisterTherapist(*server, kTherapist));
  EXPECT_THAT(therapist.client->SetEmailNotifications(kAddress).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("SMTP relay")));
  ASSERT_OK_AND_ASSIGN(NotificationSettings now, therapist.client->GetNotificationSettings());
  EXPECT_FALSE(now.server_sends_mail);
  EXPECT_OK(therapist.client->DisableNotifications());
}

}  // namespace
}  // namespace sotto
