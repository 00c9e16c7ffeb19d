// Automatic backups (issue 16, `sotto settings --backup-dir DIR --backup-every
// 1d`), on a real profile against the real server, with a clock the test
// moves:
//  - a backup is written when one is due and not before; the newest N are
//    kept, older ones deleted only once a new one is complete;
//  - an automatic backup opens with the recovery key shown at setup (stored
//    nowhere: the profile keeps only a public key) and brings the history
//    back;
//  - settings out of range are refused naming the option.

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile_pair.h"
#include "sotto/backup.h"
#include "sotto/client.h"
#include "sotto/clock.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class AutoBackupTest : public sotto::testing::ProfilePairTest {
 protected:
  void SetUp() override {
    ProfilePairTest::SetUp();
    // The client's profile again, on a clock the test moves.
    client_.reset();
    OpenOptions options;
    options.profile_dir = client_dir();
    options.passphrase = kPassphrase;
    options.auto_lock_after = absl::InfiniteDuration();
    options.clock = clock_;
    ASSERT_OK_AND_ASSIGN(client_, Client::Open(options));
  }

  // The complete automatic backups in `dir`, oldest first (the names sort
  // by time); fails the test on a temporary file left beside them.
  std::vector<std::string> Backups(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      EXPECT_FALSE(absl::StrContains(name, ".partial-")) << name;
      if (absl::StartsWith(name, "sotto-backup-") && absl::EndsWith(name, ".sottobackup")) {
        out.push_back(e.path().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  AutoBackupOptions Every(const std::string& dir, absl::Duration every, int keep) {
    AutoBackupOptions options;
    options.dir = dir;
    options.every = every;
    options.keep = keep;
    return options;
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(absl::Now());
};

TEST_F(AutoBackupTest, ABackupIsWrittenWhenDueNotBeforeAndOnlyTheNewestAreKept) {
  const std::string dir = dir_.sub("backups");
  ASSERT_OK_AND_ASSIGN(AutoBackupSetup setup, client_->SetAutoBackup(Every(dir, absl::Hours(24), 2)));
  EXPECT_EQ(setup.recovery_key.size(), 49u);  // 40 digits in ten groups, shown once

  // The first one is due at once.
  ASSERT_OK(client_->BackUpIfDue().status());
  std::vector<std::string> first = Backups(dir);
  ASSERT_THAT(first, SizeIs(1));
  struct stat st {};
  ASSERT_EQ(stat(first[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_OK_AND_ASSIGN(AutoBackupStatus status, client_->GetAutoBackup());
  EXPECT_TRUE(status.enabled);
  EXPECT_EQ(status.last_backup, absl::FromUnixMillis(absl::ToUnixMillis(clock_->Now())));
  EXPECT_EQ(status.last_error, "");

  // 23 hours later none is due, whatever the profile does.
  clock_->Advance(absl::Hours(23));
  ASSERT_OK(client_->SendText(kTherapist, "an ordinary day").status());
  ASSERT_OK(client_->Sync().status());
  ASSERT_OK_AND_ASSIGN(std::string none, client_->BackUpIfDue());
  EXPECT_EQ(none, "");
  EXPECT_EQ(Backups(dir), first);

  // A day after the first, the next is due (written by the runner the Sync
  // woke, or here: either way once).
  clock_->Advance(absl::Hours(1) + absl::Seconds(1));
  ASSERT_OK(client_->Sync().status());
  ASSERT_OK(client_->BackUpIfDue().status());
  std::vector<std::string> second = Backups(dir);
  ASSERT_THAT(second, SizeIs(2));
  EXPECT_EQ(second[0], first[0]);

  // A third: keep 2, so the oldest goes once the new one is complete.
  clock_->Advance(absl::Hours(24));
  ASSERT_OK(client_->BackUpIfDue().status());
  std::vector<std::string> kept = Backups(dir);
  ASSERT_THAT(kept, SizeIs(2));
  EXPECT_EQ(kept[0], second[1]);
  EXPECT_GT(kept[1], second[1]);
  EXPECT_FALSE(std::filesystem::exists(first[0]));

  // Changing the settings keeps the recovery key (none is shown again).
  ASSERT_OK_AND_ASSIGN(AutoBackupSetup again, client_->SetAutoBackup(Every(dir, absl::Hours(12), 3)));
  EXPECT_EQ(again.recovery_key, "");
  ASSERT_OK(client_->DisableAutoBackup());
  EXPECT_THAT(client_->BackUpIfDue().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("off")));
  EXPECT_THAT(Backups(dir), SizeIs(2));  // turning off deletes nothing
}

TEST_F(AutoBackupTest, AnAutomaticBackupOpensWithTheRecoveryKeyAndBringsTheHistoryBack) {
  ASSERT_OK(client_->SendText(kTherapist, "before the automatic backup").status());
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK(therapist_->SendText(kClient, "an answer").status());
  ASSERT_OK(client_->Sync().status());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> before, client_->ReadConversation(kTherapist));
  const std::string dir = dir_.sub("backups");
  ASSERT_OK_AND_ASSIGN(AutoBackupSetup setup, client_->SetAutoBackup(Every(dir, absl::Hours(24), 7)));
  ASSERT_OK(client_->BackUpIfDue().status());
  std::vector<std::string> files = Backups(dir);
  ASSERT_THAT(files, SizeIs(1));

  client_.reset();
  std::filesystem::remove_all(client_dir());
  RestoreOptions restore;
  restore.backup_path = files[0];
  restore.recovery_key = setup.recovery_key;
  restore.profile_dir = dir_.sub("c2");
  restore.passphrase = "a new passphrase";
  restore.key_derivation = KeyDerivation::kFastForTestsOnly;
  restore.auto_lock_after = absl::InfiniteDuration();
  std::string wrong = setup.recovery_key;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  RestoreOptions wrong_key = restore;
  wrong_key.recovery_key = wrong;
  EXPECT_THAT(Client::Restore(wrong_key).status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong recovery key")));
  ASSERT_OK_AND_ASSIGN(RestoreResult restored, Client::Restore(restore));
  ASSERT_OK_AND_ASSIGN(std::vector<Message> after, restored.client->ReadConversation(kTherapist));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].text, before[i].text);
  }
  // The restored profile goes on backing up to the same place.
  ASSERT_OK_AND_ASSIGN(AutoBackupStatus status, restored.client->GetAutoBackup());
  EXPECT_TRUE(status.enabled);
  EXPECT_EQ(status.dir, std::filesystem::path(dir).lexically_normal().string());
}

TEST_F(AutoBackupTest, SettingsOutOfRangeAreRefusedNamingTheOption) {
  const std::string dir = dir_.sub("backups");
  EXPECT_THAT(client_->SetAutoBackup(Every(dir, absl::Seconds(30), 7)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("interval")));
  EXPECT_THAT(client_->SetAutoBackup(Every(dir, absl::Hours(24), 0)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to keep")));
  EXPECT_THAT(client_->SetAutoBackup(Every("", absl::Hours(24), 7)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("directory")));
  const std::string file = dir_.sub("a-file");
  std::ofstream(file) << "x";
  EXPECT_THAT(client_->SetAutoBackup(Every(file, absl::Hours(24), 7)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a file")));
  ASSERT_OK_AND_ASSIGN(AutoBackupStatus status, client_->GetAutoBackup());
  EXPECT_FALSE(status.enabled);  // nothing was stored
  EXPECT_THAT(client_->BackUpIfDue().status(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// The same through `sotto settings`: the key shown once, the first backup
// written at once, the settings shown, and `sotto restore` of that file.
using CliAutoBackupTest = CliTest;

TEST_F(CliAutoBackupTest, SettingsTurnBackupsOnShowTheKeyOnceAndTheBackupRestores) {
  ASSERT_EQ(InitTherapist("dr-lee").exit_code, 0);
  ASSERT_EQ(InitClient("kim", "dr-lee").exit_code, 0);
  ASSERT_EQ(Sotto("kim", "send dr-lee 'hello from kim'").exit_code, 0);
  const std::string backups = (dir_ / "backups").string();
  CliRun bad = Sotto("kim", "settings --backup-dir " + backups + " --backup-every 10s");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--backup-every"));
  CliRun on = Sotto("kim", "settings --backup-dir " + backups + " --backup-every 1d --backup-keep 3");
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_THAT(on.out, HasSubstr("Recovery key"));
  EXPECT_THAT(on.out, HasSubstr("Backup written to " + backups + "/sotto-backup-"));
  EXPECT_THAT(on.out, HasSubstr("Backups:       every 24h to " + backups + ", keeping 3"));
  std::string key;
  for (size_t at = on.out.find("\n    "); at != std::string::npos;
       at = on.out.find("\n    ", at + 1)) {
    key += on.out.substr(at + 5, 24) + " ";
  }
  ASSERT_EQ(key.size(), 50u) << on.out;
  // Shown once: changing the settings keeps the key and does not show it.
  CliRun changed = Sotto("kim", "settings --backup-keep 5");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_THAT(changed.out, Not(HasSubstr("Recovery key")));
  EXPECT_THAT(changed.out, HasSubstr("keeping 5"));
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(backups)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);

  std::ofstream(dir_ / "key.txt") << key << "\n";
  CliRun restored = Sotto("kim2", "restore " + files[0].string() + " --recovery-key-file " +
                                      (dir_ / "key.txt").string());
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_THAT(Sotto("kim2", "read dr-lee").out, HasSubstr("hello from kim"));
  CliRun off = Sotto("kim2", "settings --backup-off");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_THAT(off.out, HasSubstr("Backups:       off"));
}

}  // namespace
}  // namespace sotto
