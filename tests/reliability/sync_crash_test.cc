// Issue 21's durability promise for the batched sync (one disk sync per
// fetched page, then the Ack): a `sotto sync` killed (SIGKILL) at random
// points against the real server with a real profile, and then a fresh sync,
// loses no message and shows none twice.
//
// What SIGKILL proves: nothing is acknowledged before it is stored, and a
// page stored but not acknowledged is taken up again without duplicates. (A
// page's writes are held in memory and written in one batch before its Ack:
// a kill before that loses the page whole, and the server still has it.
// Writes that reached the kernel survive a killed process whether or not
// they were synced; power loss is the business of the sync before each Ack.)
//
// Short form: 240 messages, 4 kills. SOTTO_RELIABILITY_LONG=1: 3,000
// messages, 20 kills.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "e2e/e2e_support.h"
#include "gtest/gtest.h"
#include "testing/long_form.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::testing {
namespace {

constexpr char kPassphrase[] = "correct horse battery staple";

// Starts `sotto --profile DIR sync` (the server recorded in the profile)
// with the passphrase in its environment.
pid_t StartCliSync(const std::string& profile_dir) {
  std::vector<std::string> args = {SOTTO_CLI_BINARY, "--profile", profile_dir, "sync"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);  // else the child prints our buffer again
  pid_t pid = fork();
  if (pid == 0) {
    setenv("SOTTO_PASSPHRASE", kPassphrase, 1);
    if (freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Bytes in the files under `dir` now (files RocksDB removes while we look
// are skipped).
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    const uintmax_t size = std::filesystem::file_size(it->path(), size_ec);
    if (!size_ec) total += size;
  }
  return total;
}

TEST(SyncCrashTest, KilledSyncsLoseNothingAndShowNothingTwice) {
  const int messages = LongForm() ? 3000 : 240;
  const int kills = LongForm() ? 20 : 4;
  ASSERT_OK_AND_ASSIGN(auto server,
                       ServerProcess::Start(kServerBinary, {"--rate-sends", "1000000/1000000"}));
  TempDir dir;
  const std::string profile = dir.path() + "/therapist";
  ASSERT_OK_AND_ASSIGN(std::string code, EnrolmentCode(*server, "dr-crash"));
  RegisterOptions t_opts;
  t_opts.server_address = server->address();
  t_opts.handle = "dr-crash";
  t_opts.role = Role::kTherapist;
  t_opts.enrolment_code = code;
  t_opts.profile_dir = profile;
  t_opts.passphrase = kPassphrase;
  t_opts.key_derivation = KeyDerivation::kFastForTestsOnly;
  ASSERT_OK_AND_ASSIGN(auto therapist_client, Client::Register(t_opts));
  Party therapist{std::move(therapist_client), nullptr};
  ASSERT_OK_AND_ASSIGN(Party client, RegisterClient(server->address(), "client-c", therapist));
  therapist.client.reset();  // the CLI opens the profile from now on

  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  // Each kill lands once the profile has grown by a random amount since the
  // sync started: while it stores a page (or syncs, or acknowledges), not at
  // a wall-clock time that a quiet machine's sync may already have passed.
  // A page is written in one batch at its end (issue 21), so the profile
  // grows in steps: before each sync the client sends a share of the
  // messages, so that every kill has a backlog to land in.
  std::uniform_int_distribution<uint64_t> grown_bytes(1 << 10, 64 << 10);
  std::vector<std::string> sent;
  int killed_mid_run = 0;
  for (int k = 0; k < kills; ++k) {
    for (int i = k * messages / kills; i < (k + 1) * messages / kills; ++i) {
      sent.push_back(absl::StrCat("message ", i));
      ASSERT_OK(client.client->SendText("dr-crash", sent.back()).status());
    }
    const uint64_t before = DirectoryBytes(profile);
    const uint64_t threshold = grown_bytes(random);
    const pid_t pid = StartCliSync(profile);
    ASSERT_GT(pid, 0);
    int status = 0;
    bool exited = false;
    for (int waited_ms = 0; waited_ms < 20000; ++waited_ms) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (DirectoryBytes(profile) >= before + threshold) break;
      usleep(1000);
    }
    if (!exited) {
      kill(pid, SIGKILL);
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
    }
    if (WIFSIGNALED(status)) ++killed_mid_run;
    std::printf("kill %d after %llu bytes written: %s\n", k,
                static_cast<unsigned long long>(threshold),
                WIFSIGNALED(status) ? "killed" : "had finished");
  }
  // A kill that lands after the sync finished proves nothing.
  EXPECT_GE(killed_mid_run, 1) << "seed " << seed;

  OpenOptions o_opts;
  o_opts.profile_dir = profile;
  o_opts.passphrase = kPassphrase;
  ASSERT_OK_AND_ASSIGN(auto reopened, Client::Open(o_opts));
  ASSERT_OK(reopened->Sync().status());
  ASSERT_OK_AND_ASSIGN(SyncStats again, reopened->Sync());
  EXPECT_EQ(again.received, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Message> shown, reopened->ReadConversation("client-c"));
  std::vector<std::string> texts;
  for (const Message& m : shown) texts.push_back(m.text);
  // Every message once, in the order written.
  EXPECT_EQ(texts, sent) << "seed " << seed;
}

}  // namespace
}  // namespace sotto::testing
