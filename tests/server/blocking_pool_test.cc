// The server's handler pool: grows while every worker is busy, never past
// its cap, refuses a burst beyond its queue, lets idle workers go, and runs
// every queued call on shutdown (a queued call left un-Finished would hang
// its client).
#include "server/rpc/blocking_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace sotto::server::rpc {
namespace {

// Polls `done` for up to 10 s: thread start/exit is asynchronous.
template <typename Done>
bool Eventually(Done done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

TEST(BlockingPoolTest, StartsNoThreadUntilWorkArrives) {
  BlockingPool pool(64, 100);
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(BlockingPoolTest, GrowsOneWorkerPerBlockedTaskUpToTheCap) {
  BlockingPool pool(4, 100);
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> finished{0};
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      ++running;
      release.WaitForNotification();
      ++finished;
    }));
  }
  // Four run at once (the cap); two wait in the queue.
  ASSERT_TRUE(Eventually([&] { return running.load() == 4; }));
  EXPECT_EQ(pool.threads(), 4u);
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return finished.load() == 6; }));
  EXPECT_EQ(pool.threads(), 4u);
}

TEST(BlockingPoolTest, RefusesTasksBeyondTheQueueAndDropsThemUnrun) {
  BlockingPool pool(1, 2);
  absl::Notification started, release;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_FALSE(pool.TrySubmit([&] { ran += 100; }));
  release.Notify();
  pool.Stop();
  EXPECT_EQ(ran.load(), 2);
}

TEST(BlockingPoolTest, IdleWorkersExitAndComeBackOnDemand) {
  BlockingPool pool(8, 100, absl::Milliseconds(50));
  absl::Notification release;
  std::atomic<int> finished{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      release.WaitForNotification();
      ++finished;
    }));
  }
  ASSERT_TRUE(Eventually([&] { return pool.threads() == 3; }));
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return finished.load() == 3; }));
  ASSERT_TRUE(Eventually([&] { return pool.threads() == 0; }));
  std::atomic<bool> ran{false};
  ASSERT_TRUE(pool.TrySubmit([&] { ran = true; }));
  ASSERT_TRUE(Eventually([&] { return ran.load(); }));
}

TEST(BlockingPoolTest, StopRunsEveryQueuedTaskThenRefusesMore) {
  std::atomic<int> ran{0};
  BlockingPool pool(2, 1000);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }
  pool.Stop();
  EXPECT_EQ(ran.load(), 500);
  EXPECT_EQ(pool.threads(), 0u);
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));
  pool.Stop();  // idempotent
}

}  // namespace
}  // namespace sotto::server::rpc
