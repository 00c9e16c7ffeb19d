// A PostgreSQL primary dies under load (issue 17): a primary with one
// synchronous standby (synchronous_standby_names = 'ANY 1 (...)', as
// docs/DEPLOYING.md configures production), two nodes of the real
// sotto-server binary with a store URL naming both hosts
// (target_session_attrs=read-write, so libpq connects to whichever takes
// writes) and the same key files, concurrent senders (half through each
// node) retrying each message until acknowledged, and a receiver
// acknowledging as a device does through the first node. The primary is SIGKILLed mid-load and the standby promoted, as
// Patroni would; the server reconnects by itself. Then the dead primary's
// place is taken by a new standby of the new primary, on its port, and the
// next round kills the new primary.
//
// After every round: each acknowledged Send is in the queue exactly once
// (none lost with the primary, none stored twice by a retry), and Sends
// succeed again; the time from the kill to the first acknowledged Send
// after it is printed.
//
// Short form (make test): 1 failover. Long form (SOTTO_RELIABILITY_LONG=1,
// `make reliability`): 10; SOTTO_RELIABILITY_FAILOVERS overrides.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "testing/long_form.h"
#include "testing/message_load.h"
#include "testing/postgres_instance.h"
#include "testing/server_process.h"

namespace {

using ::sotto::testing::AcknowledgedOnceProblems;
using ::sotto::testing::LongForm;
using ::sotto::testing::MessageLoad;
using ::sotto::testing::PostgresInstance;
using ::sotto::testing::ReceivedBySeq;
using ::sotto::testing::ReceiveUntil;
using ::sotto::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

int Failovers() {
  if (const char* v = std::getenv("SOTTO_RELIABILITY_FAILOVERS")) return std::atoi(v);
  return LongForm() ? 10 : 1;
}

// The store URL naming both ports: libpq tries them in order and keeps the
// one that takes writes.
std::string BothHosts(int a, int b) {
  return "postgresql://sotto@127.0.0.1:" + std::to_string(a) + ",127.0.0.1:" +
         std::to_string(b) + "/postgres?target_session_attrs=read-write&connect_timeout=2";
}

// Senders retrying each message until acknowledged; records when each
// acknowledgement came, so that the outage a kill caused can be measured.
class Senders {
 public:
  // Sender i sends through nodes[i % nodes.size()].
  Senders(const std::vector<const MessageLoad*>& nodes, int count)
      : acked_(static_cast<size_t>(count), 0) {
    for (int i = 0; i < count; ++i) {
      const MessageLoad& load = *nodes[static_cast<size_t>(i) % nodes.size()];
      threads_.emplace_back([this, &load, i] {
        for (int n = 0; !stop_.load(); ++n) {
          Clock::rep began = Clock::now().time_since_epoch().count();
          while (!load.Send(i, n).ok()) {
            ++failed_;
            if (stop_.load()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            began = Clock::now().time_since_epoch().count();
          }
          acked_[static_cast<size_t>(i)] = n + 1;
          ++total_;
          // The first Send both begun and acknowledged after Mark() ends
          // the outage (one in flight at the kill may still be answered).
          Clock::rep none = 0;
          if (began >= mark_.load()) {
            first_after_mark_.compare_exchange_strong(none, Clock::now().time_since_epoch().count());
          }
        }
      });
    }
  }
  ~Senders() { Stop(); }

  // Starts timing an outage: from now to the next acknowledgement.
  void Mark() {
    first_after_mark_ = 0;
    mark_ = Clock::now().time_since_epoch().count();
  }
  // Seconds from Mark() to the first acknowledgement of a Send begun after
  // it, once there was one.
  double OutageSeconds() const {
    return std::chrono::duration<double>(Clock::duration(first_after_mark_.load() - mark_.load()))
        .count();
  }
  // True once a Send begun after Mark() was acknowledged; false if `limit`
  // passes first.
  bool WaitForOutageEnd(std::chrono::seconds limit) const {
    const Clock::time_point end = Clock::now() + limit;
    while (first_after_mark_.load() == 0) {
      if (Clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // True once `more` further Sends have been acknowledged after now; false
  // if `limit` passes first.
  bool WaitForAcks(uint64_t more, std::chrono::seconds limit) const {
    const uint64_t target = total_.load() + more;
    const Clock::time_point end = Clock::now() + limit;
    while (total_.load() < target) {
      if (Clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  uint64_t total() const { return total_.load(); }
  uint64_t failed() const { return failed_.load(); }
  const std::vector<int>& acked() const { return acked_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<Clock::rep> mark_{std::numeric_limits<Clock::rep>::max()};
  std::atomic<Clock::rep> first_after_mark_{0};
  std::vector<int> acked_;  // sender i: messages 0..acked_[i]-1 acknowledged
  std::vector<std::thread> threads_;
};

TEST(PgFailoverTest, EveryAcknowledgedSendSurvivesThePrimarysDeathExactlyOnce) {
  const int kSenders = LongForm() ? 8 : 4;
  const int failovers = Failovers();
  auto first = PostgresInstance::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  std::unique_ptr<PostgresInstance> primary = *std::move(first);
  auto made = primary->StartStandby("standby1");
  ASSERT_TRUE(made.ok()) << made.status();
  std::unique_ptr<PostgresInstance> standby = *std::move(made);
  ASSERT_TRUE(primary->RequireSynchronousStandby("standby1").ok());
  std::vector<std::string> args = sotto::testing::RateLimitsOffArgs();
  args.push_back("--store");
  args.push_back(BothHosts(primary->port(), standby->port()));
  auto started = ServerProcess::Start(sotto::testing::kServerBinary, args);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  // The second node shares the database and the first one's key files.
  for (const char* key : {"audit-key", "code-pepper", "notify-key"}) {
    args.push_back(std::string("--") + key + "-file");
    args.push_back(server->data_dir() + "." + key);
  }
  auto second = ServerProcess::Start(sotto::testing::kServerBinary, args);
  ASSERT_TRUE(second.ok()) << second.status();
  std::unique_ptr<ServerProcess> server_b = *std::move(second);
  MessageLoad load;
  ASSERT_TRUE(load.Setup(server->address(), server->data_dir(), kSenders).ok());
  std::unique_ptr<MessageLoad> load_b = load.Through(server_b->address());

  ReceivedBySeq got;
  std::atomic<bool> stop_receiving{false};
  std::thread receiver([&] { ReceiveUntil(load, stop_receiving, got); });
  Senders senders({&load, load_b.get()}, kSenders);
  std::vector<double> outages;
  for (int round = 0; round < failovers; ++round) {
    ASSERT_TRUE(senders.WaitForAcks(200, std::chrono::seconds(60)))
        << "round " << round + 1 << ": the senders stalled before the kill";
    senders.Mark();
    ASSERT_TRUE(primary->Kill().ok());
    absl::Status promoted = standby->Promote();
    ASSERT_TRUE(promoted.ok()) << promoted;
    ASSERT_TRUE(senders.WaitForOutageEnd(std::chrono::seconds(60)))
        << "round " << round + 1 << ": no Send succeeded within 60 s of the failover";
    outages.push_back(senders.OutageSeconds());
    // The dead primary's port gets a new standby of the new primary, so
    // that the next round has somewhere to fail over to.
    const int free_port = primary->port();
    primary = std::move(standby);
    auto replacement = primary->StartStandby("standby1", free_port);
    ASSERT_TRUE(replacement.ok()) << replacement.status();
    standby = *std::move(replacement);
    ASSERT_TRUE(primary->RequireSynchronousStandby("standby1").ok());
  }
  ASSERT_TRUE(senders.WaitForAcks(50, std::chrono::seconds(60)));
  senders.Stop();
  stop_receiving = true;
  receiver.join();

  const std::vector<std::string> problems = AcknowledgedOnceProblems(senders.acked(), got);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, the first: " << problems.front();
  std::sort(outages.begin(), outages.end());
  std::printf(
      "pg failover: %d failovers, 2 nodes, %d senders, %llu acknowledged Sends all received once; "
      "kill to first acknowledged Send: median %.2f s, worst %.2f s (%llu failed attempts "
      "retried)\n",
      failovers, kSenders, static_cast<unsigned long long>(senders.total()),
      outages[outages.size() / 2], outages.back(),
      static_cast<unsigned long long>(senders.failed()));
  EXPECT_TRUE(server->Stop().ok());
  EXPECT_TRUE(server_b->Stop().ok());
}

}  // namespace
