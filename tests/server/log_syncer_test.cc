// Group commit's acknowledgement path: nothing is acknowledged before a log
// sync that began after it was handed over, a failed sync fails every
// waiting acknowledgement (none is reported durable), and shutdown neither
// drops nor hangs a waiting one. The store is a fake only for its faults.
#include "server/storage/log_syncer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;

// Counts SyncLog calls; fails them while `fail` is set; can hold one open.
class SyncFaultStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(Table, absl::string_view) override {
    return std::nullopt;
  }
  absl::Status Write(const WriteBatch&, Durability) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<KeyValue>> Scan(Table, absl::string_view, absl::string_view,
                                             size_t) override {
    return std::vector<KeyValue>();
  }
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table, absl::string_view,
                                                   Durability) override {
    return std::nullopt;
  }
  absl::Status SyncLog() override {
    if (!entered.HasBeenNotified()) entered.Notify();  // one syncer thread calls this
    if (hold) release.WaitForNotification();
    ++syncs;
    if (fail) return absl::UnavailableError("disk full");
    return absl::OkStatus();
  }

  std::atomic<bool> fail{false};
  std::atomic<bool> hold{false};
  std::atomic<int> syncs{0};
  absl::Notification entered;
  absl::Notification release;
};

TEST(LogSyncerTest, AcknowledgesOnlyAfterASyncThatBeganAfterTheHandOver) {
  SyncFaultStore store;
  store.hold = true;
  LogSyncer syncer(&store);
  absl::Notification first_done;
  syncer.AfterSync([&](absl::Status s) {
    EXPECT_OK(s);
    first_done.Notify();
  });
  // The first sync is on its way; what is handed over now must wait for
  // the next one.
  store.entered.WaitForNotification();
  std::atomic<int> acked_at_sync{-1};
  absl::Notification second_done;
  syncer.AfterSync([&](absl::Status s) {
    EXPECT_OK(s);
    acked_at_sync = store.syncs.load();
    second_done.Notify();
  });
  store.release.Notify();
  ASSERT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(first_done.HasBeenNotified());
  EXPECT_EQ(acked_at_sync.load(), 2);
}

TEST(LogSyncerTest, AFailedSyncFailsEveryWaitingAcknowledgement) {
  SyncFaultStore store;
  store.fail = true;
  LogSyncer syncer(&store);
  std::vector<absl::Status> results(20);
  std::atomic<int> done{0};
  for (size_t i = 0; i < results.size(); ++i) {
    syncer.AfterSync([&, i](absl::Status s) {
      results[i] = s;
      ++done;
    });
  }
  syncer.Stop();
  ASSERT_EQ(done.load(), 20);
  for (const absl::Status& s : results) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("disk full")));
  }
}

// After a failed fsync the kernel may have dropped the dirty pages while a
// later fsync succeeds: a retried Send (a duplicate of a write still in the
// memtable) must not then be told it is durable.
TEST(LogSyncerTest, AFailedSyncIsFinalEvenWhenTheNextOneWouldSucceed) {
  SyncFaultStore store;
  store.fail = true;
  LogSyncer syncer(&store);
  absl::Notification first;
  syncer.AfterSync([&](absl::Status s) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
    first.Notify();
  });
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(10)));
  store.fail = false;
  absl::Status retried = absl::OkStatus();
  absl::Notification second;
  syncer.AfterSync([&](absl::Status s) {
    retried = s;
    second.Notify();
  });
  ASSERT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(retried, StatusIs(absl::StatusCode::kUnavailable,
                                ::testing::HasSubstr("until the server is restarted")));
  EXPECT_EQ(store.syncs.load(), 1) << "no sync may be trusted after a failed one";
}

TEST(LogSyncerTest, BusyWhileTooManyWaitForAStalledDisk) {
  SyncFaultStore store;
  store.hold = true;
  LogSyncer syncer(&store, /*max_waiting=*/3);
  std::atomic<int> acked{0};
  syncer.AfterSync([&](absl::Status) { ++acked; });
  store.entered.WaitForNotification();  // the disk stalls in this sync
  EXPECT_FALSE(syncer.Busy());
  for (int i = 0; i < 3; ++i) syncer.AfterSync([&](absl::Status) { ++acked; });
  EXPECT_TRUE(syncer.Busy());
  store.release.Notify();
  syncer.Stop();
  EXPECT_EQ(acked.load(), 4);
  EXPECT_FALSE(syncer.Busy());
}

TEST(LogSyncerTest, StopSyncsWhatWaitsAndRefusesLaterHandOvers) {
  SyncFaultStore store;
  store.hold = true;
  LogSyncer syncer(&store);
  absl::Status waiting = absl::UnknownError("not run");
  syncer.AfterSync([&](absl::Status s) { waiting = s; });
  store.entered.WaitForNotification();
  std::thread stopper([&] { syncer.Stop(); });
  store.release.Notify();
  stopper.join();
  EXPECT_OK(waiting);
  absl::Status late = absl::UnknownError("not run");
  syncer.AfterSync([&](absl::Status s) { late = s; });
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace sotto::server
