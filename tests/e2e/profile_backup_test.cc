// Encrypted backup with a recovery key (issue 16), on real profiles against
// the real server with real Signal sessions:
//  - backup -> the profile deleted -> restore into a new directory gives
//    back the identical history, the drafts and the contact still verified,
//    and the exchange goes on both ways with no notice on the other side;
//  - a wrong key, a truncated file, a flipped byte (in a chunk or in the
//    header), a file that is no backup: each a clear error naming it, and no
//    profile is created;
//  - the file is owner-only, never written over another, and holds none of
//    the profile's plaintext;
//  - a `sotto restore` killed in the middle of writing the profile leaves
//    no profile, and the next restore into the same directory works.
// SOTTO_BACKUP_BENCH_MESSAGES=N sizes the benchmark of docs/BENCHMARKS.md (300 otherwise).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli_fixture.h"
#include "client-lib/keys/key_maintenance.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile_pair.h"
#include "sotto/backup.h"
#include "sotto/client.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Peak resident memory (kB) since the last ResetPeakRss.
long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

class ProfileBackupTest : public sotto::testing::ProfilePairTest {
 protected:
  // The bench sends thousands of messages in a row.
  std::vector<std::string> ServerArgs() const override {
    return sotto::testing::RateLimitsOffArgs();
  }

  RestoreOptions Restoring(const std::string& file, const std::string& key,
                           const std::string& dir) const {
    RestoreOptions options;
    options.backup_path = file;
    options.recovery_key = key;
    options.profile_dir = dir;
    options.passphrase = "a new passphrase";
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    options.auto_lock_after = absl::InfiniteDuration();
    return options;
  }

  // A short exchange both ways, so that both sides hold live sessions.
  void Converse(const std::string& marker) {
    ASSERT_OK(client_->SendText(kTherapist, "first from sam " + marker).status());
    ASSERT_OK(therapist_->Sync().status());
    ASSERT_OK(therapist_->SendText(kClient, "answer from the therapist " + marker).status());
    ASSERT_OK(client_->Sync().status());
    ASSERT_OK(client_->SendText(kTherapist, "second from sam " + marker).status());
    ASSERT_OK(therapist_->Sync().status());
    ASSERT_OK(client_->Sync().status());  // the receipts
  }

  absl::StatusOr<BackupResult> BackUp(const std::string& file) {
    BackupOptions options;
    options.out_path = file;
    return client_->Backup(options);
  }
};

// Compares what a person sees of each message.
void ExpectSameHistory(const std::vector<Message>& a, const std::vector<Message>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].outgoing, b[i].outgoing);
    EXPECT_EQ(a[i].state, b[i].state);
    EXPECT_EQ(a[i].server_time_ms, b[i].server_time_ms);
  }
}

TEST_F(ProfileBackupTest,
       RestoreAfterTheProfileIsGoneKeepsHistoryAndVerificationAndTheExchangeGoesOn) {
  const std::string marker = "plaintext-marker-5d1f0c";
  Converse(marker);
  ASSERT_OK(client_->MarkVerified(kTherapist));
  Draft draft;
  draft.to = kTherapist;
  draft.body = "a draft about the weekend " + marker;
  ASSERT_OK(client_->SaveDraft(draft).status());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> before, client_->ReadConversation(kTherapist));
  ASSERT_EQ(before.size(), 3u);

  const std::string file = dir_.sub("sam.sottobackup");
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));
  EXPECT_EQ(made.recovery_key.size(), 49u);  // 40 digits in ten groups
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  const std::string bytes = ReadFile(file);
  EXPECT_EQ(bytes.find(marker), std::string::npos);
  EXPECT_EQ(bytes.find(kTherapist), std::string::npos);
  EXPECT_EQ(bytes.find(kClient), std::string::npos);
  // Nothing is left beside it under a temporary name.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.sub("")))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);

  // The device is lost: its profile is gone.
  client_.reset();
  std::filesystem::remove_all(dir_.sub("c"));

  ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                       Client::Restore(Restoring(file, made.recovery_key, dir_.sub("c2"))));
  EXPECT_OK(restored.network_status);
  EXPECT_EQ(restored.sessions_started, 1);
  client_ = std::move(restored.client);
  EXPECT_EQ(client_->handle(), kClient);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> after, client_->ReadConversation(kTherapist));
  ExpectSameHistory(before, after);
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo safety, client_->SafetyNumber(kTherapist));
  EXPECT_TRUE(safety.verified);
  ASSERT_OK_AND_ASSIGN(std::vector<Draft> drafts, client_->ListDrafts());
  ASSERT_EQ(drafts.size(), 1u);
  EXPECT_EQ(drafts[0].body, draft.body);

  // The therapist's client takes the new session without a word to the
  // therapist: no notice, nothing held, nothing unreadable.
  ASSERT_OK_AND_ASSIGN(SyncStats took, therapist_->Sync());
  EXPECT_EQ(took.undecryptable, 0);
  EXPECT_EQ(took.held, 0);
  EXPECT_THAT(took.notices, IsEmpty());
  EXPECT_EQ(took.received, 0);  // the session start is no message

  // The exchange goes on: therapist -> restored client, and back.
  ASSERT_OK(therapist_->SendText(kClient, "welcome back").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, client_->Sync());
  EXPECT_EQ(got.received, 1);
  EXPECT_EQ(got.undecryptable, 0);
  ASSERT_OK(client_->SendText(kTherapist, "thank you, new phone").status());
  ASSERT_OK_AND_ASSIGN(SyncStats back, therapist_->Sync());
  EXPECT_EQ(back.received, 1);
  EXPECT_EQ(back.undecryptable, 0);
  EXPECT_THAT(back.notices, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> seen, therapist_->ReadConversation(kClient));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().text, "thank you, new phone");
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo theirs, therapist_->SafetyNumber(kClient));
  EXPECT_FALSE(theirs.changed);
}

TEST_F(ProfileBackupTest, AMessageSentToTheLostDeviceIsAskedForAgainAndArrivesUnderItsFirstId) {
  Converse("before the backup");
  const std::string file = dir_.sub("sam.sottobackup");
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));
  // Sent to the old device's session after the backup was made; the device
  // is lost before it fetches it.
  ASSERT_OK_AND_ASSIGN(SendResult sent,
                       therapist_->SendText(kClient, "sent while the phone was lost"));
  const Message& lost = sent.message;
  client_.reset();
  std::filesystem::remove_all(dir_.sub("c"));
  ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                       Client::Restore(Restoring(file, made.recovery_key, dir_.sub("c2"))));
  client_ = std::move(restored.client);

  ASSERT_OK_AND_ASSIGN(SyncStats unreadable, client_->Sync());
  EXPECT_EQ(unreadable.received, 0);
  EXPECT_EQ(unreadable.undecryptable, 1);
  EXPECT_EQ(unreadable.asked_again, 1);
  EXPECT_THAT(unreadable.unreadable_from, ::testing::ElementsAre(kTherapist));

  // The therapist's app answers the request with nothing for the therapist
  // to do or see, and the message comes back under its first id.
  ASSERT_OK_AND_ASSIGN(SyncStats asked, therapist_->Sync());
  EXPECT_EQ(asked.received, 0);
  EXPECT_EQ(asked.undecryptable, 0);
  EXPECT_THAT(asked.notices, IsEmpty());
  ASSERT_OK_AND_ASSIGN(SyncStats again, client_->Sync());
  EXPECT_EQ(again.received, 1);
  EXPECT_EQ(again.undecryptable, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> seen, client_->ReadConversation(kTherapist));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().text, "sent while the phone was lost");
  EXPECT_EQ(seen.back().id, lost.id);
  EXPECT_FALSE(seen.back().outgoing);

  // Its receipts reach the therapist's copy of the message.
  ASSERT_OK(therapist_->Sync().status());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> mine, therapist_->ReadConversation(kClient));
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(mine.back().id, lost.id);
  EXPECT_THAT(mine.back().state,
              ::testing::AnyOf(DeliveryState::kDelivered, DeliveryState::kRead));
  // The therapist's conversation shows it once: the resend is no new message.
  int copies = 0;
  for (const Message& m : mine) copies += m.id == lost.id;
  EXPECT_EQ(copies, 1);
}

TEST_F(ProfileBackupTest, WrongKeyTruncatedOrDamagedFileFailsNamingItAndCreatesNoProfile) {
  Converse("x");
  const std::string file = dir_.sub("sam.sottobackup");
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));
  const std::string good = ReadFile(file);
  const std::string target = dir_.sub("restored");

  std::string wrong = made.recovery_key;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  EXPECT_THAT(Client::Restore(Restoring(file, wrong, target)).status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong recovery key")));
  EXPECT_FALSE(std::filesystem::exists(target));

  EXPECT_THAT(Client::Restore(Restoring(file, "1234 5678", target)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("40 digits")));

  const std::string cut = dir_.sub("cut");
  WriteFile(cut, good.substr(0, good.size() - 40));
  EXPECT_THAT(Client::Restore(Restoring(cut, made.recovery_key, target)).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_FALSE(std::filesystem::exists(target));

  // Cut exactly after a whole chunk: only the missing FINAL tag tells.
  const std::string header_only = dir_.sub("header-only");
  WriteFile(header_only, good.substr(0, 84));
  EXPECT_THAT(Client::Restore(Restoring(header_only, made.recovery_key, target)).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));

  const std::string flipped = dir_.sub("flipped");
  std::string damaged = good;
  damaged[good.size() / 2] ^= 0x01;
  WriteFile(flipped, damaged);
  EXPECT_THAT(Client::Restore(Restoring(flipped, made.recovery_key, target)).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not authenticate")));
  EXPECT_FALSE(std::filesystem::exists(target));

  damaged = good;
  damaged[20] ^= 0x01;  // in the salt
  WriteFile(flipped, damaged);
  EXPECT_THAT(Client::Restore(Restoring(flipped, made.recovery_key, target)).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("header")));
  EXPECT_FALSE(std::filesystem::exists(target));

  WriteFile(flipped, "just some file\n");
  EXPECT_THAT(Client::Restore(Restoring(flipped, made.recovery_key, target)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a Sotto backup")));

  // Into a directory that holds a profile: refused, that profile untouched.
  EXPECT_THAT(Client::Restore(Restoring(file, made.recovery_key, dir_.sub("t"))).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK(therapist_->Sync().status());

  // A backup never writes over a file.
  EXPECT_THAT(BackUp(flipped).status(), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ReadFile(flipped), "just some file\n");
}

// The server may still hold one-time prekeys the lost device published
// after the backup; the restored device replaces the whole stock
// (Keys.Upload replace_one_time_prekeys), so that a contact who starts a
// session from the key directory after the restore reaches it.
TEST_F(ProfileBackupTest, ANewSessionAfterTheRestoreUsesOnlyKeysTheRestoredDeviceHolds) {
  Converse("prekeys");
  // A second therapist the client also sees, who has never written to them.
  ASSERT_OK_AND_ASSIGN(sotto::testing::Party second,
                       sotto::testing::RegisterTherapist(*server_, "dr-second"));
  ASSERT_OK_AND_ASSIGN(Invite invite, second.client->CreateInvite());
  ASSERT_OK(client_->AcceptInvite(invite.code).status());
  const std::string file = dir_.sub("sam.sottobackup");
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));

  // After the backup, the device's whole stock on the server is taken and
  // it publishes new keys, which the backup does not have.
  auto raw = sotto::testing::RawConnection(server_->address(), second);
  for (uint32_t i = 0; i < client::kPreKeyStock; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::GetBundleResponse bundle, raw->GetBundle(kClient));
    ASSERT_EQ(bundle.devices_size(), 1);
    ASSERT_TRUE(bundle.devices(0).has_one_time_prekey()) << "taken at " << i;
  }
  ASSERT_OK_AND_ASSIGN(SyncStats refilled, client_->Sync());
  EXPECT_EQ(refilled.maintenance_error, "");

  client_.reset();
  ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                       Client::Restore(Restoring(file, made.recovery_key, dir_.sub("c2"))));
  EXPECT_OK(restored.network_status);
  EXPECT_EQ(restored.sessions_started, 2);
  client_ = std::move(restored.client);
  ASSERT_OK_AND_ASSIGN(SyncStats took, second.client->Sync());  // the session start
  EXPECT_LE(took.notices.size(), 1u);
  EXPECT_EQ(took.undecryptable, 0);

  // The second therapist writes first on a session of its own making: the
  // restored device reads it and the answer comes back.
  ASSERT_OK(second.client->SendText(kClient, "a first note after your restore").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, client_->Sync());
  EXPECT_EQ(got.undecryptable, 0);
  EXPECT_EQ(got.received, 1);
  ASSERT_OK(client_->SendText("dr-second", "received, thanks").status());
  ASSERT_OK_AND_ASSIGN(SyncStats back, second.client->Sync());
  EXPECT_EQ(back.received, 1);
  EXPECT_EQ(back.undecryptable, 0);
  EXPECT_LE(took.notices.size() + back.notices.size(), 1u);
  ASSERT_OK_AND_ASSIGN(SyncStats first, therapist_->Sync());
  EXPECT_LE(first.notices.size(), 1u);
  EXPECT_EQ(first.undecryptable, 0);
}

// Staging directories of restores into `target` (DIR.restoring-*).
int StagingDirs(const std::string& target) {
  const std::filesystem::path t(target);
  const std::string prefix = t.filename().string() + ".restoring-";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(t.parent_path())) {
    n += e.path().filename().string().rfind(prefix, 0) == 0;
  }
  return n;
}

// Opens the write end of `fifo` once `pid` opens its read end; -1 if `pid`
// ends first or 30 s pass. Polls: a blocking open would hang the test if
// the child died without opening it.
int OpenFifoForWriting(const std::string& fifo, pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      fcntl(fd, F_SETFL, 0);  // blocking writes from here on
      return fd;
    }
    int status = 0;
    if (errno != ENXIO || waitpid(pid, &status, WNOHANG) == pid) return -1;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return -1;
}

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

TEST_F(ProfileBackupTest, RestoreKilledMidwayLeavesNoProfileAndTheNextRestoreWorks) {
  Converse("killed");
  ASSERT_OK_AND_ASSIGN(std::vector<Message> before, client_->ReadConversation(kTherapist));
  const std::string file = dir_.sub("sam.sottobackup");
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));
  const std::string good = ReadFile(file);
  const std::string target = dir_.sub("restored");

  // `sotto restore` reads the backup from a FIFO, so that the test decides
  // how far it gets: the whole file for the check pass, then half of it for
  // the pass that writes the profile, and SIGKILL while it waits for more.
  const std::string fifo = dir_.sub("backup.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  signal(SIGPIPE, SIG_IGN);  // a write to a reader that died fails instead
  std::vector<std::string> args = {SOTTO_CLI_BINARY, "--profile", target, "restore", fifo};
  std::vector<std::string> env = {"SOTTO_PASSPHRASE=a new passphrase",
                                  "SOTTO_ALLOW_WEAK_PASSPHRASE=1",
                                  "SOTTO_RECOVERY_KEY=" + made.recovery_key};
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  for (std::string& e : env) envp.push_back(e.data());
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  // Its progress and prompts go to a file, not into the test's output.
  const std::string log = dir_.sub("restore.log");
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, SOTTO_CLI_BINARY, &files, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  ASSERT_EQ(spawned, 0);

  const int check_pass = OpenFifoForWriting(fifo, pid);
  ASSERT_GE(check_pass, 0) << "sotto restore never read the backup: " << ReadFile(log);
  ASSERT_TRUE(WriteAll(check_pass, good));
  close(check_pass);
  // The write pass opens the file again once the staging store exists (and
  // the check pass has closed it: opening before that would hand the bytes
  // to the closing reader).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (StagingDirs(target) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(StagingDirs(target), 1) << "sotto restore never began writing the profile";
  const int write_pass = OpenFifoForWriting(fifo, pid);
  ASSERT_GE(write_pass, 0) << "sotto restore ended after checking the backup";
  ASSERT_TRUE(WriteAll(write_pass, good.substr(0, good.size() / 2)));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(write_pass);
  ASSERT_TRUE(WIFSIGNALED(status)) << ReadFile(log);

  // Killed while writing the profile: a staging directory, no profile.
  EXPECT_EQ(StagingDirs(target), 1);
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_THAT(Reopen(target).status(), StatusIs(absl::StatusCode::kNotFound));

  // The next restore into the same directory works and clears the debris.
  ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                       Client::Restore(Restoring(file, made.recovery_key, target)));
  EXPECT_EQ(StagingDirs(target), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> after,
                       restored.client->ReadConversation(kTherapist));
  ExpectSameHistory(before, after);
}

// The same through the `sotto` binary: the key printed once, a refused
// overwrite, a wrong key from the environment, the key from a file.
using CliBackupTest = CliTest;

TEST_F(CliBackupTest, BackupPrintsTheKeyOnceAndRestoreBringsTheConversationBack) {
  ASSERT_EQ(InitTherapist("dr-lee").exit_code, 0);
  ASSERT_EQ(InitClient("kim", "dr-lee").exit_code, 0);
  ASSERT_EQ(Sotto("kim", "send dr-lee 'hello from kim'").exit_code, 0);
  ASSERT_EQ(Sotto("dr-lee", "sync").exit_code, 0);
  const std::string file = (dir_ / "kim.sottobackup").string();
  CliRun made = Sotto("kim", "backup --out " + file);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("Recovery key"));
  EXPECT_THAT(made.err, HasSubstr("Backing up:"));
  // The two lines of five groups after "Recovery key".
  std::string key;
  for (size_t at = made.out.find("\n    "); at != std::string::npos;
       at = made.out.find("\n    ", at + 1)) {
    key += made.out.substr(at + 5, 24) + " ";
  }
  ASSERT_EQ(key.size(), 50u) << made.out;
  // Sent after the backup to the phone that is then lost: the restored
  // device cannot read it, says so in words the person can act on, and asks
  // dr-lee's app for it again.
  ASSERT_EQ(Sotto("dr-lee", "send kim 'sent to the lost phone'").exit_code, 0);
  CliRun again = Sotto("kim", "backup --out " + file);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("exists"));

  std::string wrong = key;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  CliRun refused =
      Sotto("kim2", "restore " + file, "correct horse", "", "SOTTO_RECOVERY_KEY=" + Quote(wrong));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("wrong recovery key"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "kim2"));

  std::ofstream(dir_ / "key.txt") << key << "\n";
  CliRun restored =
      Sotto("kim2", "restore " + file + " --recovery-key-file " + (dir_ / "key.txt").string());
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("Restored kim"));
  EXPECT_THAT(restored.out, HasSubstr("New sessions started with 1"));
  CliRun lost = Sotto("kim2", "sync");
  ASSERT_EQ(lost.exit_code, 0) << lost.err;
  // The message, and dr-lee's delivery receipt for "hello from kim".
  EXPECT_THAT(lost.out, HasSubstr("2 messages could not be read"));
  EXPECT_THAT(lost.out, HasSubstr("sent to this device before it was restored from a backup"));
  EXPECT_THAT(lost.out, HasSubstr("Sotto asked dr-lee's app to send them again"));
  EXPECT_THAT(lost.out, Not(HasSubstr("decrypt")));
  // dr-lee's next sync answers the request; the message comes back.
  ASSERT_EQ(Sotto("dr-lee", "sync").exit_code, 0);
  ASSERT_EQ(Sotto("dr-lee", "send kim 'welcome back'").exit_code, 0);
  ASSERT_EQ(Sotto("kim2", "sync").exit_code, 0);
  CliRun read = Sotto("kim2", "read dr-lee");
  EXPECT_THAT(read.out, HasSubstr("hello from kim"));
  EXPECT_THAT(read.out, HasSubstr("sent to the lost phone"));
  EXPECT_THAT(read.out, HasSubstr("welcome back"));
}

// A history of many messages comes back whole. In every run with 300;
// docs/BENCHMARKS.md's figures with SOTTO_BACKUP_BENCH_MESSAGES=10000.
TEST_F(ProfileBackupTest, Bench) {
  const char* env = std::getenv("SOTTO_BACKUP_BENCH_MESSAGES");
  const int n = env != nullptr ? std::atoi(env) : 300;
  ASSERT_GT(n, 0) << "SOTTO_BACKUP_BENCH_MESSAGES must be a positive count";
  for (int i = 0; i < n; ++i) {
    ASSERT_OK(client_
                  ->SendText(kTherapist, absl::StrCat("message ", i,
                                                      " of the bench, a line "
                                                      "of ordinary length for a note"))
                  .status());
    // The server queues at most 10,000 envelopes per device.
    if (i % 5000 == 4999) ASSERT_OK(therapist_->Sync().status());
  }
  const std::string file = dir_.sub("bench.sottobackup");
  ResetPeakRss();
  const long base = PeakRssKb();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(BackupResult made, BackUp(file));
  auto t1 = std::chrono::steady_clock::now();
  const long backup_peak = PeakRssKb();
  client_.reset();
  ResetPeakRss();
  const long base2 = PeakRssKb();
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                       Client::Restore(Restoring(file, made.recovery_key, dir_.sub("c2"))));
  auto t3 = std::chrono::steady_clock::now();
  const long restore_peak = PeakRssKb();
  ASSERT_OK_AND_ASSIGN(std::vector<Message> after, restored.client->ReadConversation(kTherapist));
  EXPECT_EQ(after.size(), static_cast<size_t>(n));
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::printf(
      "BENCH messages=%d records=%llu file_bytes=%llu backup_ms=%lld "
      "backup_peak_rss_growth_kb=%ld restore_ms=%lld restore_peak_rss_growth_kb=%ld "
      "(process rss before: %ld kB)\n",
      n, static_cast<unsigned long long>(made.written.records),
      static_cast<unsigned long long>(made.written.bytes), static_cast<long long>(ms(t1 - t0)),
      backup_peak - base, static_cast<long long>(ms(t3 - t2)), restore_peak - base2, base);
}

}  // namespace
}  // namespace sotto
