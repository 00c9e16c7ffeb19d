// End to end, Client::DeleteAccount: the real sotto-server binary on a
// loopback port with RocksDB in a temporary directory, real clients with
// encrypted profiles on disk. What the user expects of "delete my account":
// the server forgets it (the contact's sends fail, the handle is free, the
// audit trail says it happened), this device forgets it (the profile is wiped
// and no longer opens), and a refused or failed attempt loses nothing.

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client-lib/storage/memory_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/local_store.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using ::sotto::testing::Party;
using ::sotto::testing::RegisterTherapist;
using ::sotto::testing::RunServerCommand;
using ::sotto::testing::ServerProcess;
using ::sotto::testing::StatusIs;
using ::sotto::testing::TempDir;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

namespace fs = std::filesystem;

std::vector<std::string> Texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.text);
  return out;
}

// An app-provided store that the test can still look into after the Client
// that owns the front end is gone: every call goes to a shared MemoryStore.
class SharedStore final : public client::storage::LocalStore {
 public:
  explicit SharedStore(std::shared_ptr<client::storage::LocalStore> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<std::optional<std::string>> Get(client::storage::Space space,
                                                 absl::string_view key) override {
    return inner_->Get(space, key);
  }
  absl::Status Apply(const std::vector<client::storage::Write>& writes) override {
    return inner_->Apply(writes);
  }
  absl::StatusOr<std::vector<client::storage::Entry>> Scan(client::storage::Space space,
                                                           absl::string_view prefix) override {
    return inner_->Scan(space, prefix);
  }
  std::string Blind(absl::string_view identifier) const override {
    return inner_->Blind(identifier);
  }

 private:
  std::shared_ptr<client::storage::LocalStore> inner_;
};

class AccountDeletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(rivera_, RegisterTherapist(*server_, "dr-rivera"));
  }

  // sam, a client of dr-rivera, with an encrypted profile in `dir`.
  absl::StatusOr<std::unique_ptr<Client>> RegisterSam(const std::string& dir) {
    auto invite = rivera_.client->CreateInvite();
    if (!invite.ok()) return invite.status();
    RegisterOptions options;
    options.profile_dir = dir;
    options.passphrase = "correct horse";
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    options.server_address = server_->address();
    options.handle = "sam";
    options.role = Role::kClient;
    options.invite_code = invite->code;
    return Client::Register(options);
  }

  OpenOptions Opening(const std::string& dir) const {
    OpenOptions open;
    open.profile_dir = dir;
    open.passphrase = "correct horse";
    return open;
  }

  // `sotto-server audit --user HANDLE`, as the operator runs it.
  std::string AuditOf(const std::string& handle) const {
    auto run = RunServerCommand("audit --data-dir '" + server_->data_dir() + "' --user " + handle);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return run.output;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  Party rivera_;
};

TEST_F(AccountDeletionTest, DeletionEndsTheAccountForThePeerFreesTheHandleAndWipesTheProfile) {
  const std::string profile = dir_.sub("sam");
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(profile));
  ASSERT_OK(sam->SendText("dr-rivera", "I want to stop using this").status());
  ASSERT_OK(rivera_.client->Sync().status());
  // Waiting on the server for sam when the account goes: it must go too.
  ASSERT_OK(rivera_.client->SendText("sam", "undelivered reply").status());

  ASSERT_OK(sam->DeleteAccount("sam"));

  // This device: the profile is gone and does not open.
  EXPECT_FALSE(fs::exists(profile));
  EXPECT_THAT(Client::Open(Opening(profile)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no profile")));
  // The server: dr-rivera can no longer write to sam, and is told why: the
  // link ended (issue 19: the server no longer says whether a handle exists).
  EXPECT_THAT(rivera_.client->SendText("sam", "are you still there?"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no care link")));
  // No link names sam any more (issue 22: it used to stay, ended by sam).
  ASSERT_OK_AND_ASSIGN(std::vector<CareLink> links, rivera_.client->ListLinks());
  EXPECT_THAT(links, IsEmpty());
  // dr-rivera keeps what sam had written (it is on their device).
  ASSERT_OK_AND_ASSIGN(auto kept, rivera_.client->ReadConversation("sam"));
  EXPECT_THAT(Texts(kept), ElementsAre("I want to stop using this", "undelivered reply"));
  // The operator's audit trail records it, with no content.
  const std::string audit = AuditOf("sam");
  EXPECT_THAT(audit, HasSubstr("account.deleted actor=sam.1 subject=sam"));
  EXPECT_THAT(audit, Not(HasSubstr("stop using")));

  // The handle is free: a new profile registers it and starts empty (the
  // undelivered reply went with the old account).
  ASSERT_OK_AND_ASSIGN(auto again, RegisterSam(profile));
  ASSERT_OK_AND_ASSIGN(SyncStats stats, again->Sync());
  EXPECT_EQ(stats.received, 0);
  EXPECT_THAT(again->ListConversations(), ::sotto::testing::IsOk());
  EXPECT_THAT(*again->ListConversations(), IsEmpty());
}

TEST_F(AccountDeletionTest, AWrongConfirmHandleIsRefusedAndDeletesNothing) {
  const std::string profile = dir_.sub("sam");
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(profile));
  ASSERT_OK(sam->SendText("dr-rivera", "first").status());
  for (const char* wrong : {"dr-rivera", "", "Sam", "sam "}) {
    EXPECT_THAT(sam->DeleteAccount(wrong), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("confirm with its handle 'sam'")))
        << "'" << wrong << "'";
  }
  // Nothing went: the account works both ways, the history is there, and
  // the audit trail has no deletion.
  ASSERT_OK(sam->SendText("dr-rivera", "second").status());
  ASSERT_OK_AND_ASSIGN(SyncStats stats, rivera_.client->Sync());
  EXPECT_EQ(stats.received, 2);
  ASSERT_OK(rivera_.client->SendText("sam", "got both").status());
  ASSERT_OK_AND_ASSIGN(stats, sam->Sync());
  EXPECT_EQ(stats.received, 1);
  ASSERT_OK_AND_ASSIGN(auto history, sam->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(history), ElementsAre("first", "second", "got both"));
  EXPECT_THAT(AuditOf("sam"), Not(HasSubstr("account.deleted")));
  sam.reset();
  EXPECT_OK(Client::Open(Opening(profile)).status());
}

TEST_F(AccountDeletionTest, WhenTheServerCannotBeReachedNothingLocalIsLost) {
  const std::string profile = dir_.sub("sam");
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(profile));
  ASSERT_OK(sam->SendText("dr-rivera", "keep this").status());
  server_->Kill();
  EXPECT_THAT(sam->DeleteAccount("sam"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(fs::exists(profile));
  ASSERT_OK_AND_ASSIGN(auto history, sam->ReadConversation("dr-rivera"));
  EXPECT_THAT(Texts(history), ElementsAre("keep this"));

  // Back up at the same address: the same Client still works, and deleting
  // now goes through.
  ASSERT_OK(server_->Restart(/*same_address=*/true));
  ASSERT_OK(sam->SendText("dr-rivera", "still here").status());
  ASSERT_OK(sam->DeleteAccount("sam"));
  EXPECT_FALSE(fs::exists(profile));
}

TEST_F(AccountDeletionTest, ADeletedClientRefusesEveryCallWithAClearError) {
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(dir_.sub("sam")));
  ASSERT_OK(sam->SendText("dr-rivera", "hello").status());
  ASSERT_OK(rivera_.client->Sync().status());
  ASSERT_OK(sam->DeleteAccount("sam"));
  const auto deleted = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kFailedPrecondition &&
           absl::StrContains(s.message(), "the account 'sam' was deleted");
  };
  EXPECT_TRUE(deleted(sam->SendText("dr-rivera", "x").status()));
  EXPECT_TRUE(deleted(sam->Sync().status()));
  EXPECT_TRUE(deleted(sam->ListConversations().status()));
  EXPECT_TRUE(deleted(sam->ReadConversation("dr-rivera").status()));
  EXPECT_TRUE(deleted(sam->SafetyNumber("dr-rivera").status()));
  EXPECT_TRUE(deleted(sam->ListLinks().status()));
  EXPECT_TRUE(deleted(sam->SetReadReceipts(false)));
  EXPECT_TRUE(deleted(sam->ChangePassphrase("correct horse", "x")));
  EXPECT_TRUE(deleted(sam->Lock()));
  EXPECT_TRUE(deleted(sam->Unlock("correct horse")));
  EXPECT_TRUE(deleted(sam->DeleteAccount("sam")));
  EXPECT_TRUE(deleted(sam->Listen(absl::Seconds(1), [](const Message&) { return true; }).status()));
  EXPECT_EQ(sam->handle(), "sam");
}

TEST_F(AccountDeletionTest, ALockedClientCannotDeleteUntilUnlocked) {
  const std::string profile = dir_.sub("sam");
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(profile));
  ASSERT_OK(sam->Lock());
  EXPECT_THAT(sam->DeleteAccount("sam"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("locked")));
  EXPECT_TRUE(fs::exists(profile));
  ASSERT_OK(sam->Unlock("correct horse"));
  ASSERT_OK(sam->DeleteAccount("sam"));
  EXPECT_FALSE(fs::exists(profile));
}

TEST_F(AccountDeletionTest, AListenOnAnotherThreadEndsWhenTheAccountIsDeleted) {
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterSam(dir_.sub("sam")));
  // A message waits, so that the stream is known to be open once Listen
  // has delivered it.
  ASSERT_OK(rivera_.client->SendText("sam", "are you there?").status());
  absl::Notification listening;
  absl::StatusOr<SyncStats> result;
  std::thread listener([&] {
    result = sam->Listen(absl::Seconds(60), [&](const Message&) {
      if (!listening.HasBeenNotified()) listening.Notify();
      return true;
    });
  });
  ASSERT_TRUE(listening.WaitForNotificationWithTimeout(absl::Seconds(20)));
  const absl::Time start = absl::Now();
  ASSERT_OK(sam->DeleteAccount("sam"));
  listener.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // Whichever comes first ends it, both naming the deletion: the client's own
  // record of it (FAILED_PRECONDITION), or the server ending the account's
  // streams as it deletes (UNAUTHENTICATED "account sam was deleted; stream
  // ended", issue 22).
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().code(),
              AnyOf(absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(result.status().message(), HasSubstr("was deleted"));
}

TEST_F(AccountDeletionTest, AnAppProvidedStoreIsEmptied) {
  auto shared = std::shared_ptr<client::storage::LocalStore>(client::storage::NewMemoryStore());
  auto invite = rivera_.client->CreateInvite();
  ASSERT_OK(invite.status());
  RegisterOptions options;
  options.server_address = server_->address();
  options.handle = "sam";
  options.role = Role::kClient;
  options.invite_code = invite->code;
  ASSERT_OK_AND_ASSIGN(auto sam, Client::Register(options, std::make_unique<SharedStore>(shared)));
  ASSERT_OK(sam->SendText("dr-rivera", "in the app's own database").status());
  ASSERT_OK_AND_ASSIGN(auto before, shared->Scan(client::storage::Space::kHistory, ""));
  ASSERT_FALSE(before.empty());

  ASSERT_OK(sam->DeleteAccount("sam"));
  for (int space = static_cast<int>(client::storage::Space::kMeta);
       space <= static_cast<int>(client::storage::kLastSpace); ++space) {
    ASSERT_OK_AND_ASSIGN(auto left, shared->Scan(static_cast<client::storage::Space>(space), ""));
    EXPECT_THAT(left, IsEmpty()) << client::storage::SpaceName(
        static_cast<client::storage::Space>(space));
  }
  EXPECT_THAT(Client::Open(std::make_unique<SharedStore>(shared)),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sotto
