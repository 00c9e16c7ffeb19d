// Issue 21's durability promise for the send side under group commit
// (sends from several threads share one disk sync of the local store): a
// process sending in a loop from several threads (send_loop.cc), killed
// with SIGKILL at a random point, again and again, and then the profile
// opened once more:
//  - every text the sender reported as sent is in its local history, once;
//  - RetryUnsent sends whatever was written but not yet taken by the server
//    (nothing is left as not sent);
//  - the recipient gets every text of the sender's history exactly once.
//
// What SIGKILL proves: a text is recorded before its ciphertext leaves and
// before SendText returns, and a text half sent is sent again with the same
// id (the server and the recipient recognise it). Writes that reached the
// kernel survive a killed process whether or not they were synced; power
// loss is the business of the sync before each Send (CommitStore).
//
// Short form: 4 kills of a 4-thread sender. SOTTO_RELIABILITY_LONG=1: 20
// kills, 8 threads, later kill points.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "e2e/e2e_support.h"
#include "gtest/gtest.h"
#include "testing/long_form.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::testing {
namespace {

constexpr char kPassphrase[] = "correct horse battery staple";

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout
};

// Starts send_loop on `profile_dir` with its stdout on a pipe.
Child StartSendLoop(const std::string& profile_dir, const std::string& to, uint64_t first,
                    uint64_t count, int threads) {
  std::vector<std::string> args = {
      SOTTO_SEND_LOOP_BINARY, profile_dir,         to,
      absl::StrCat(first),    absl::StrCat(count), absl::StrCat(threads)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::fflush(stdout);  // else the child prints our buffer again
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("SOTTO_PASSPHRASE", kPassphrase, 1);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fdopen(fds[0], "r")};
}

// The number in "message N".
uint64_t Number(const std::string& text) {
  uint64_t n = 0;
  EXPECT_TRUE(absl::StartsWith(text, "message ") && absl::SimpleAtoi(text.substr(8), &n))
      << "unexpected text \"" << text << "\"";
  return n;
}

// Runs the send loop `kills` times (texts k*per_run ..), each killed with
// SIGKILL once it has reported a random number of texts sent. Returns the
// texts reported sent; counts the runs that were killed mid-run.
std::set<uint64_t> KillSendLoops(const std::string& profile, int kills, int threads,
                                 uint64_t per_run, std::mt19937& random, int& killed_mid_run) {
  // Killed once it has reported this many texts sent: while other threads
  // are between recording, syncing, sending and recording the outcome.
  std::uniform_int_distribution<uint64_t> kill_after(0, LongForm() ? 600 : 120);
  std::set<uint64_t> reported;
  for (int k = 0; k < kills; ++k) {
    const uint64_t first = k * per_run;
    const uint64_t limit = kill_after(random);
    Child child = StartSendLoop(profile, "dr-send", first, per_run, threads);
    EXPECT_GT(child.pid, 0);
    if (child.out == nullptr) return reported;
    uint64_t sent_now = 0;
    char line[128];
    while (sent_now < limit && std::fgets(line, sizeof line, child.out) != nullptr) {
      uint64_t n = 0;
      if (std::sscanf(line, "sent %lu", &n) == 1) {
        EXPECT_TRUE(reported.insert(n).second) << "reported twice: " << n;
        ++sent_now;
      }
    }
    kill(child.pid, SIGKILL);
    // What it reported before the kill landed counts too.
    while (std::fgets(line, sizeof line, child.out) != nullptr) {
      uint64_t n = 0;
      if (std::sscanf(line, "sent %lu", &n) == 1) reported.insert(n);
    }
    std::fclose(child.out);
    int status = 0;
    EXPECT_EQ(waitpid(child.pid, &status, 0), child.pid);
    if (WIFSIGNALED(status)) ++killed_mid_run;
    std::printf("kill %d after %lu reported: %s\n", k, static_cast<unsigned long>(sent_now),
                WIFSIGNALED(status) ? "killed" : "had finished");
  }
  return reported;
}

TEST(SendCrashTest, KilledSendLoopsLoseNothingReportedAndDeliverEverythingOnce) {
  const int kills = LongForm() ? 20 : 4;
  const int threads = LongForm() ? 8 : 4;
  const uint64_t per_run = LongForm() ? 2000 : 400;
  ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(kServerBinary, RateLimitsOffArgs()));
  ASSERT_OK_AND_ASSIGN(Party therapist, RegisterTherapist(*server, "dr-send"));
  TempDir dir;
  const std::string profile = dir.path() + "/client";
  {
    ASSERT_OK_AND_ASSIGN(Invite invite, therapist.client->CreateInvite());
    RegisterOptions options;
    options.server_address = server->address();
    options.handle = "client-s";
    options.role = Role::kClient;
    options.invite_code = invite.code;
    options.profile_dir = profile;
    options.passphrase = kPassphrase;
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    ASSERT_OK(Client::Register(options).status());  // closed again: the child opens it
  }

  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  int killed_mid_run = 0;
  const std::set<uint64_t> reported =
      KillSendLoops(profile, kills, threads, per_run, random, killed_mid_run);
  EXPECT_GE(killed_mid_run, 1) << "seed " << seed;

  OpenOptions o_opts;
  o_opts.profile_dir = profile;
  o_opts.passphrase = kPassphrase;
  ASSERT_OK_AND_ASSIGN(auto client, Client::Open(o_opts));
  // Every text reported as sent is in the sender's history, once.
  ASSERT_OK_AND_ASSIGN(std::vector<Message> before, client->ReadConversation("dr-send"));
  std::map<uint64_t, int> in_history;
  for (const Message& m : before) {
    if (m.outgoing) ++in_history[Number(m.text)];
  }
  for (uint64_t n : reported) {
    EXPECT_EQ(in_history[n], 1) << "message " << n << " was reported sent; seed " << seed;
  }
  // What was written but not taken by the server goes now.
  ASSERT_OK(client->RetryUnsent().status());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> after, client->ReadConversation("dr-send"));
  std::set<uint64_t> written;
  for (const Message& m : after) {
    if (!m.outgoing) continue;
    EXPECT_TRUE(written.insert(Number(m.text)).second) << m.text << " shown twice";
    EXPECT_NE(m.state, DeliveryState::kNotSent) << m.text << " still not sent";
    EXPECT_NE(m.state, DeliveryState::kFailed) << m.text << ": " << m.failure;
  }

  // The recipient gets every text of the sender's history, once.
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(SyncStats got, therapist.client->Sync());
    if (got.received == 0) break;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Message> shown, therapist.client->ReadConversation("client-s"));
  std::map<uint64_t, int> arrived;
  for (const Message& m : shown) {
    if (!m.outgoing) ++arrived[Number(m.text)];
  }
  for (const auto& [n, times] : arrived) {
    EXPECT_EQ(times, 1) << "message " << n << " arrived " << times << " times; seed " << seed;
    EXPECT_TRUE(written.count(n)) << "message " << n << " arrived but the sender has no record";
  }
  for (uint64_t n : written) {
    EXPECT_EQ(arrived.count(n), 1u) << "message " << n << " never arrived; seed " << seed;
  }
  std::printf("%zu reported sent, %zu in the history, %zu arrived\n", reported.size(),
              written.size(), arrived.size());
}

}  // namespace
}  // namespace sotto::testing
