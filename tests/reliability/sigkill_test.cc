// SIGKILL under load (issue 20's reliability suite): concurrent senders
// against the real sotto-server binary, killed at random moments and
// restarted on the same data and address, while a receiver fetches and
// acknowledges as a device does. At the end every acknowledged Send has been
// received exactly once: none lost, none stored twice.
//
// Short form (make test): 4 senders, 5 kills, a few seconds. Long form
// (SOTTO_RELIABILITY_LONG=1, `make reliability`): 8 senders, 100 kills; the
// figures go into docs/RELIABILITY.md. SOTTO_RELIABILITY_KILLS overrides
// the number of kills.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/long_form.h"
#include "testing/message_load.h"
#include "testing/server_process.h"

namespace {

using ::sotto::testing::AcknowledgedOnceProblems;
using ::sotto::testing::LongForm;
using ::sotto::testing::MessageLoad;
using ::sotto::testing::ReceivedBySeq;
using ::sotto::testing::ReceiveUntil;
using ::sotto::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

int Kills() {
  if (const char* v = std::getenv("SOTTO_RELIABILITY_KILLS")) return std::atoi(v);
  return LongForm() ? 100 : 5;
}

TEST(SigkillTest, EveryAcknowledgedSendArrivesExactlyOnceAcrossKills) {
  const int kSenders = LongForm() ? 8 : 4;
  const int kills = Kills();
  const std::vector<std::string> args = sotto::testing::RateLimitsOffArgs();
  auto started = ServerProcess::Start(sotto::testing::kServerBinary, args);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  MessageLoad load;
  ASSERT_TRUE(load.Setup(server->address(), server->data_dir(), kSenders).ok());

  std::atomic<bool> stop{false};
  std::vector<int> acked(kSenders, 0);  // sender i: messages 0..acked[i]-1 acknowledged
  std::atomic<uint64_t> failed_attempts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSenders; ++i) {
    threads.emplace_back([&, i] {
      // Each message is retried until acknowledged, as a client does: the
      // retry after a crash is where a duplicate would come from.
      for (int n = 0; !stop.load(); ++n) {
        while (!load.Send(i, n).ok()) {
          ++failed_attempts;
          if (stop.load()) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        acked[i] = n + 1;
      }
    });
  }
  ReceivedBySeq got;
  std::atomic<bool> stop_receiving{false};
  std::thread receiver([&] { ReceiveUntil(load, stop_receiving, got); });

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(LongForm() ? 200 : 100, LongForm() ? 2000 : 600);
  const Clock::time_point start = Clock::now();
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    server->Kill();
    absl::Status s = server->Restart(/*same_address=*/true);
    ASSERT_TRUE(s.ok()) << "restart " << k + 1 << ": " << s;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (std::thread& t : threads) t.join();
  stop_receiving = true;
  receiver.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  uint64_t total = 0;
  for (int i = 0; i < kSenders; ++i) total += static_cast<uint64_t>(acked[i]);
  const std::vector<std::string> problems = AcknowledgedOnceProblems(acked, got);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, the first: " << problems.front();
  EXPECT_GT(total, static_cast<uint64_t>(kills)) << "the senders hardly sent";
  std::printf(
      "sigkill: %d kills in %.1f s, %d senders, %llu acknowledged Sends, all received once "
      "(%zu received; %llu failed attempts retried)\n",
      kills, seconds, kSenders, static_cast<unsigned long long>(total), got.Counts().size(),
      static_cast<unsigned long long>(failed_attempts.load()));
  EXPECT_TRUE(server->Stop().ok());
}

}  // namespace
