// A PostgreSQL primary dies under load (issue 17): a primary with one
// synchronous standby (synchronous_standby_names = 'ANY 1 (...)', as
// docs/DEPLOYING.md configures production), two nodes of the real
// sotto-server binary with a store URL naming both hosts
// (target_session_attrs=read-write, so libpq connects to whichever takes
// writes) and the same key files, concurrent senders (half through each
// node) retrying each message until acknowledged, and recipients holding
// Subscribe streams spread over both nodes, acknowledging each envelope as
// a device does. The primary is SIGKILLed mid-load and the standby
// promoted, as Patroni would; the servers reconnect by themselves. A stream
// the outage ends is opened again on the other node (a client
// reconnects to any node). Then the dead primary's place is taken by a new
// standby of the new primary, on its port, and the next round kills the
// new primary.
//
// After every round, each stream receives again: the time from the kill
// until it receives a message sent after the kill is printed (median and
// worst over every stream and round), with the time until Sends succeed
// again. At the end: each acknowledged Send reached its recipient's streams
// exactly once (none lost with the primary, none stored twice by a retry;
// one redelivered because its Ack was lost counts once, by seq), and each
// stream saw its queue in seq order.
//
// Short form (make test): 1 failover. Long form (SOTTO_RELIABILITY_LONG=1,
// `make reliability`): 10; SOTTO_RELIABILITY_FAILOVERS overrides.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
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
using ::sotto::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

constexpr int kSendersPerRecipient = 2;

int Failovers() {
  if (const char* v = std::getenv("SOTTO_RELIABILITY_FAILOVERS")) return std::atoi(v);
  return LongForm() ? 10 : 1;
}

// The store URL naming both ports: libpq tries them in order and keeps the
// one that takes writes.
std::string BothHosts(int a, int b) {
  return "postgresql://sotto@127.0.0.1:" + std::to_string(a) + ",127.0.0.1:" + std::to_string(b) +
         "/postgres?target_session_attrs=read-write&connect_timeout=2";
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Senders retrying each message until acknowledged; records when each
// acknowledgement came, so that the outage a kill caused can be measured.
class Senders {
 public:
  // Who sends: `load`'s client `sender`, to `load`'s therapist, through the
  // node `load` talks to.
  struct Target {
    const MessageLoad* load;
    int sender;
  };

  explicit Senders(const std::vector<Target>& targets)
      : acked_(new std::atomic<int>[targets.size()]), count_(targets.size()) {
    for (size_t k = 0; k < targets.size(); ++k) {
      acked_[k] = 0;
      threads_.emplace_back([this, target = targets[k], k] {
        for (int n = 0; !stop_.load(); ++n) {
          Clock::rep began = Clock::now().time_since_epoch().count();
          while (!target.load->Send(target.sender, n).ok()) {
            ++failed_;
            if (stop_.load()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            began = Clock::now().time_since_epoch().count();
          }
          acked_[k] = n + 1;
          ++total_;
          // The first Send both begun and acknowledged after Mark() ends
          // the outage (one in flight at the kill may still be answered).
          Clock::rep none = 0;
          if (began >= mark_.load()) {
            first_after_mark_.compare_exchange_strong(none,
                                                      Clock::now().time_since_epoch().count());
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
    return Seconds(Clock::duration(first_after_mark_.load() - mark_.load()));
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
  // For targets first..first+count-1: messages 0..result[i]-1 acknowledged.
  // The message each is sending now may be acknowledged any moment, so a
  // message n > result[i] is begun after this call.
  std::vector<int> Acked(size_t first, size_t count) const {
    std::vector<int> out;
    for (size_t k = first; k < first + count && k < count_; ++k) out.push_back(acked_[k].load());
    return out;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<Clock::rep> mark_{std::numeric_limits<Clock::rep>::max()};
  std::atomic<Clock::rep> first_after_mark_{0};
  std::unique_ptr<std::atomic<int>[]> acked_;
  size_t count_;
  std::vector<std::thread> threads_;
};

// A recipient's device holding a Subscribe stream, first on node `first`;
// when a stream ends (the outage failed its read of the queue), it opens
// the next one 20 ms later on the other node. Acknowledges what it
// received in batches, on a thread of its own so that reading never waits
// for an Ack (an Ack lost in the outage means the envelopes come again,
// under the same seqs). Records, per failover, when it first received a
// message sent after the kill.
class Stream {
 public:
  Stream(std::vector<const MessageLoad*> nodes, size_t first, ReceivedBySeq* got)
      : nodes_(std::move(nodes)),
        got_(got),
        acker_([this] { AckUntilStopped(); }),
        reader_([this, first] { Run(first); }) {}
  ~Stream() { Stop(); }

  // A failover began now: the next envelope from client i numbered above
  // acked[i] (so sent after now) ends this stream's outage.
  void Mark(std::vector<int> acked) {
    std::lock_guard<std::mutex> lock(mu_);
    kill_ = Clock::now();
    sent_before_ = std::move(acked);
    received_again_.reset();
  }
  // Seconds from Mark() until this stream received a message sent after
  // it, or -1 if `limit` passed first.
  double WaitUntilReceivingAgain(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!changed_.wait_for(lock, limit, [this] { return received_again_.has_value(); })) return -1;
    return Seconds(*received_again_ - kill_);
  }
  // Cancels the open stream and joins.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (open_ != nullptr) open_->TryCancel();
    }
    changed_.notify_all();
    if (reader_.joinable()) reader_.join();
    if (acker_.joinable()) acker_.join();
  }
  int reopened() const { return reopened_.load(); }
  std::vector<std::string> order_problems() const {
    std::lock_guard<std::mutex> lock(mu_);
    return order_problems_;
  }

 private:
  void Run(size_t node) {
    for (;; node = (node + 1) % nodes_.size(), ++reopened_) {
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        open_ = &ctx;
      }
      std::unique_ptr<grpc::ClientReader<sotto::v1::SubscribeEvent>> reader =
          nodes_[node]->Subscribe(ctx);
      sotto::v1::SubscribeEvent event;
      uint64_t last_seq = 0;
      while (reader->Read(&event)) {
        if (!event.has_envelope()) continue;
        const sotto::v1::Envelope& e = event.envelope();
        got_->Add({e.seq(), e.ciphertext()});
        Received(e.ciphertext(), e.seq(), last_seq);
        last_seq = e.seq();
      }
      (void)reader->Finish();
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_ = nullptr;
      }
      // A client's backoff before trying again, as the client library's
      // Listen does: no busy loop against a database that is down.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Body "s<i>-<n>": client i's message n, streamed after `last_seq`.
  void Received(const std::string& body, uint64_t seq, uint64_t last_seq) {
    int sender = -1;
    int n = -1;
    const bool parsed = std::sscanf(body.c_str(), "s%d-%d", &sender, &n) == 2;
    std::lock_guard<std::mutex> lock(mu_);
    if (seq <= last_seq) {
      order_problems_.push_back("seq " + std::to_string(seq) + " after " +
                                std::to_string(last_seq));
    }
    to_ack_.push_back(seq);
    if (parsed && !received_again_ && sender >= 0 &&
        static_cast<size_t>(sender) < sent_before_.size() &&
        n > sent_before_[static_cast<size_t>(sender)]) {
      received_again_ = Clock::now();
    }
    changed_.notify_all();
  }

  // Acknowledges what was received, up to 1,000 seqs an Ack, through
  // either node (they share the database).
  void AckUntilStopped() {
    for (size_t node = 0;; node = (node + 1) % nodes_.size()) {
      std::vector<uint64_t> seqs;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return stop_ || !to_ack_.empty(); });
        if (stop_) return;
        const size_t take = std::min<size_t>(to_ack_.size(), 1000);
        seqs.assign(to_ack_.begin(), to_ack_.begin() + static_cast<std::ptrdiff_t>(take));
        to_ack_.erase(to_ack_.begin(), to_ack_.begin() + static_cast<std::ptrdiff_t>(take));
      }
      (void)nodes_[node]->Ack(seqs);
    }
  }

  const std::vector<const MessageLoad*> nodes_;
  ReceivedBySeq* const got_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool stop_ = false;                                // guarded by mu_
  grpc::ClientContext* open_ = nullptr;              // guarded by mu_
  Clock::time_point kill_;                           // guarded by mu_
  std::vector<int> sent_before_;                     // guarded by mu_
  std::optional<Clock::time_point> received_again_;  // guarded by mu_
  std::vector<uint64_t> to_ack_;                     // guarded by mu_
  std::vector<std::string> order_problems_;          // guarded by mu_
  std::atomic<int> reopened_{0};
  // Last: they start once the rest is built.
  std::thread acker_;
  std::thread reader_;
};

// One recipient: its accounts seen through each node, what its streams got.
struct Recipient {
  MessageLoad load;                        // through the first node
  std::unique_ptr<MessageLoad> through_b;  // through the second
  ReceivedBySeq got;
  std::unique_ptr<Stream> stream;
};

// Every acknowledged message missing or doubled across the recipients.
std::vector<std::string> Problems(const std::vector<std::unique_ptr<Recipient>>& recipients,
                                  const Senders& senders) {
  std::vector<std::string> problems;
  for (size_t r = 0; r < recipients.size(); ++r) {
    for (const std::string& p : AcknowledgedOnceProblems(
             senders.Acked(r * kSendersPerRecipient, kSendersPerRecipient), recipients[r]->got)) {
      problems.push_back("recipient " + std::to_string(r) + ": " + p);
    }
  }
  return problems;
}

TEST(PgFailoverTest, EveryAcknowledgedSendSurvivesThePrimarysDeathExactlyOnce) {
  const int kRecipients = LongForm() ? 4 : 2;
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

  // Recipient r streams first from node r % 2; its clients send through
  // both nodes, so that half of what each stream gets crosses the bus.
  std::vector<std::unique_ptr<Recipient>> recipients;
  std::vector<Senders::Target> targets;
  for (int r = 0; r < kRecipients; ++r) {
    auto recipient = std::make_unique<Recipient>();
    ASSERT_TRUE(recipient->load
                    .Setup(server->address(), server->data_dir(), kSendersPerRecipient,
                           "r" + std::to_string(r) + "-")
                    .ok());
    recipient->through_b = recipient->load.Through(server_b->address());
    const std::vector<const MessageLoad*> nodes = {&recipient->load, recipient->through_b.get()};
    for (int i = 0; i < kSendersPerRecipient; ++i) targets.push_back({nodes[i % 2], i});
    recipient->stream =
        std::make_unique<Stream>(nodes, static_cast<size_t>(r % 2), &recipient->got);
    recipients.push_back(std::move(recipient));
  }
  Senders senders(targets);
  std::vector<double> outages;
  std::vector<double> stream_outages;
  for (int round = 0; round < failovers; ++round) {
    ASSERT_TRUE(senders.WaitForAcks(200, std::chrono::seconds(60)))
        << "round " << round + 1 << ": the senders stalled before the kill";
    senders.Mark();
    for (size_t r = 0; r < recipients.size(); ++r) {
      recipients[r]->stream->Mark(senders.Acked(r * kSendersPerRecipient, kSendersPerRecipient));
    }
    ASSERT_TRUE(primary->Kill().ok());
    absl::Status promoted = standby->Promote();
    ASSERT_TRUE(promoted.ok()) << promoted;
    ASSERT_TRUE(senders.WaitForOutageEnd(std::chrono::seconds(60)))
        << "round " << round + 1 << ": no Send succeeded within 60 s of the failover";
    outages.push_back(senders.OutageSeconds());
    for (size_t r = 0; r < recipients.size(); ++r) {
      const double again = recipients[r]->stream->WaitUntilReceivingAgain(std::chrono::seconds(60));
      ASSERT_GE(again, 0) << "round " << round + 1 << ": recipient " << r
                          << "'s stream received nothing sent after the kill within 60 s";
      stream_outages.push_back(again);
    }
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
  // Everything acknowledged reaches the streams: wait for the last ones.
  std::vector<std::string> problems = Problems(recipients, senders);
  for (const Clock::time_point end = Clock::now() + std::chrono::seconds(30);
       !problems.empty() && Clock::now() < end; problems = Problems(recipients, senders)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int reopened = 0;
  for (const auto& recipient : recipients) {
    recipient->stream->Stop();
    reopened += recipient->stream->reopened();
    for (const std::string& p : recipient->stream->order_problems()) problems.push_back(p);
  }
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, the first: " << problems.front();
  std::sort(outages.begin(), outages.end());
  std::sort(stream_outages.begin(), stream_outages.end());
  std::printf(
      "pg failover: %d failovers, 2 nodes, %zu senders, %llu acknowledged Sends all received "
      "once, in seq order, by %d Subscribe streams (reopened %d times, on the other node); kill "
      "to first acknowledged Send: median %.2f s, worst %.2f s (%llu failed attempts retried); "
      "kill to each stream receiving a message sent after it: median %.2f s, worst %.2f s\n",
      failovers, targets.size(), static_cast<unsigned long long>(senders.total()), kRecipients,
      reopened, outages[outages.size() / 2], outages.back(),
      static_cast<unsigned long long>(senders.failed()), stream_outages[stream_outages.size() / 2],
      stream_outages.back());
  EXPECT_TRUE(server->Stop().ok());
  EXPECT_TRUE(server_b->Stop().ok());
}

}  // namespace
