// Group commit's acknowledgement path: nothing is acknowledged before a log
// sync that began after it was handed over, a failed sync fails every
// waiting acknowledgement (none is reported durable), and shutdown neither
// drops nor hangs a waiting one. GroupCommitStore: a synced write returns
// only after such a sync, and never asks the store below for an fsync of
// its own. The store is a fake only for its faults.
#include "server/storage/log_syncer.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/storage/group_commit_store.h"
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
  absl::Status Write(const WriteBatch&, Durability durability) override {
    ++writes;
    if (durability == Durability::kSynced) ++synced_writes;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<KeyValue>> Scan(Table, absl::string_view, absl::string_view,
                                             size_t) override {
    return std::vector<KeyValue>();
  }
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table, absl::string_view,
                                                   Durability durability) override {
    if (durability == Durability::kSynced) ++synced_writes;
    return KeyValue{"k", "v"};
  }
  absl::Status SyncLog() override {
    if (!entered.HasBeenNotified()) entered.Notify();  // one syncer thread calls this
    if (hold) release.WaitForNotification();
    // Time under test: the disk's latency.
    if (delay_us > 0) absl::SleepFor(absl::Microseconds(delay_us.load()));
    ++syncs;
    if (fail) return absl::UnavailableError("disk full");
    return absl::OkStatus();
  }

  std::atomic<bool> fail{false};
  std::atomic<bool> hold{false};
  std::atomic<int> delay_us{0};  // each sync takes this long (a disk)
  std::atomic<int> syncs{0};
  std::atomic<int> writes{0};
  std::atomic<int> synced_writes{0};  // Write or PopFirst asked for kSynced
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

// The operator's view of the disk: a sync that stalls 150 ms is the slowest,
// counts in the total, and as over 10 ms and over 100 ms.
TEST(LogSyncerTest, ReportsHowLongTheDiskTookToSync) {
  SyncFaultStore store;
  LogSyncer syncer(&store);
  ASSERT_OK(syncer.WaitForSync());
  store.delay_us = 150'000;
  ASSERT_OK(syncer.WaitForSync());
  store.delay_us = 0;
  ASSERT_OK(syncer.WaitForSync());
  LogSyncer::SyncTimes times = syncer.sync_times();
  EXPECT_GE(times.max_micros, 150'000u);
  EXPECT_GE(times.total_micros, 150'000u);
  EXPECT_GE(times.over_100ms, 1u);
  EXPECT_GE(times.over_10ms, 1u);
  EXPECT_EQ(syncer.syncs(), 3u);
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

WriteBatch OnePut() {
  WriteBatch batch;
  batch.Put(Table::kAccounts, "sam", "record");
  return batch;
}

TEST(GroupCommitStoreTest, ASyncedWriteReturnsOnlyAfterASyncThatBeganAfterIt) {
  SyncFaultStore store;
  store.hold = true;
  LogSyncer syncer(&store);
  GroupCommitStore group(&store, &syncer);
  // A sync is already under way when the write arrives: it does not count.
  syncer.AfterSync([](absl::Status) {});
  store.entered.WaitForNotification();
  std::atomic<bool> returned{false};
  std::atomic<int> syncs_at_return{-1};
  std::thread writer([&] {
    EXPECT_OK(group.Write(OnePut(), Durability::kSynced));
    syncs_at_return = store.syncs.load();
    returned = true;
  });
  while (store.writes.load() == 0) std::this_thread::yield();
  // Time under test: a window in which a premature return would show.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(returned.load()) << "a synced write returned while its sync had not run";
  store.release.Notify();
  writer.join();
  EXPECT_EQ(syncs_at_return.load(), 2);
  EXPECT_EQ(store.synced_writes.load(), 0) << "only the syncer may fsync";
}

TEST(GroupCommitStoreTest, ConcurrentSyncedWritesShareSyncs) {
  SyncFaultStore store;
  store.delay_us = 1000;
  LogSyncer syncer(&store);
  GroupCommitStore group(&store, &syncer);
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_OK(group.Write(OnePut(), Durability::kSynced));
        absl::StatusOr<std::optional<KeyValue>> popped =
            group.PopFirst(Table::kPreKeys, "sam", Durability::kSynced);
        EXPECT_OK(popped.status());
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(store.synced_writes.load(), 0);
  // 800 synced writes from 8 threads: one fsync each would be 800.
  EXPECT_LT(store.syncs.load(), 400);
}

TEST(GroupCommitStoreTest, AFailedSyncFailsTheWriteAndEveryLaterOne) {
  SyncFaultStore store;
  store.fail = true;
  LogSyncer syncer(&store);
  GroupCommitStore group(&store, &syncer);
  EXPECT_THAT(group.Write(OnePut(), Durability::kSynced),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("disk full")));
  store.fail = false;
  EXPECT_THAT(group.Write(OnePut(), Durability::kSynced),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("until the server is restarted")));
  EXPECT_THAT(group.PopFirst(Table::kPreKeys, "sam", Durability::kSynced).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  // An unsynced write promises nothing about the disk and is not refused.
  EXPECT_OK(group.Write(OnePut(), Durability::kBuffered));
}

// Shutdown stops the syncer before the store closes; a late synced write
// (a sweeper finishing) syncs by itself instead of failing or hanging.
TEST(GroupCommitStoreTest, AfterTheSyncerStopsASyncedWriteSyncsItself) {
  SyncFaultStore store;
  LogSyncer syncer(&store);
  GroupCommitStore group(&store, &syncer);
  syncer.Stop();
  const int before = store.syncs.load();
  EXPECT_OK(group.Write(OnePut(), Durability::kSynced));
  EXPECT_EQ(store.syncs.load(), before + 1);
  EXPECT_EQ(store.synced_writes.load(), 0);
}

// A syncer callback (a Send's reply waking a subscription) that writes
// synced must not wait for the thread it runs on.
TEST(GroupCommitStoreTest, ASyncedWriteFromTheSyncersOwnThreadDoesNotDeadlock) {
  SyncFaultStore store;
  LogSyncer syncer(&store);
  GroupCommitStore group(&store, &syncer);
  absl::Notification done;
  absl::Status inner = absl::UnknownError("not run");
  syncer.AfterSync([&](absl::Status) {
    inner = group.Write(OnePut(), Durability::kSynced);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10))) {
    // Returning would hang in ~LogSyncer (and the callback would outlive
    // `done`): stop here, failing.
    std::cerr << "deadlock: a synced write on the syncer's thread waited for itself\n";
    std::abort();
  }
  EXPECT_OK(inner);
  EXPECT_EQ(store.syncs.load(), 2);
}

}  // namespace
}  // namespace sotto::server
