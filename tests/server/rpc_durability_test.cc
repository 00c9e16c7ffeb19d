// The gRPC surface of the server: group commit and how handlers' store work
// is scheduled, over a store that lets a test hold the log syncs.

#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

// A Store under the server's audit log that lets a test see and hold the
// point where writes become durable: the log syncer's syncs (every synced
// write of the server waits on one). While armed, each sync waits until
// `together` are inside at once (then all go), Release is called, or
// `timeout` passes (then all later ones go too: the test has its answer).
// Counts buffered writes and log syncs, and any write that asks this store
// for a sync of its own (the server should make none: only the syncer
// fsyncs).
class GatedStore final : public ForwardingStore {
 public:
  explicit GatedStore(std::unique_ptr<Store> inner)
      : ForwardingStore(inner.get()), owned_(std::move(inner)) {}

  void Arm(int together, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    armed_ = true;
    together_ = together;
    timeout_ = timeout;
    open_ = false;
    buffered_ = 0;
    syncs_ = 0;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Writes and PopFirsts that asked for kSynced, armed or not.
  int synced_writes() {
    absl::MutexLock lock(&mu_);
    return synced_writes_;
  }
  // True once `n` log syncs are inside together.
  bool WaitInside(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return inside_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  // True once `n` buffered writes returned since Arm.
  bool WaitBuffered(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return buffered_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  // Buffered writes that returned since Arm.
  int buffered() {
    absl::MutexLock lock(&mu_);
    return buffered_;
  }
  // Log syncs that completed since Arm.
  int syncs() {
    absl::MutexLock lock(&mu_);
    return syncs_;
  }

  absl::Status Write(const WriteBatch& batch, Durability durability) override {
    absl::Status s = inner()->Write(batch, durability);
    absl::MutexLock lock(&mu_);
    if (durability == Durability::kSynced) ++synced_writes_;
    if (armed_ && s.ok() && durability == Durability::kBuffered) ++buffered_;
    return s;
  }
  absl::Status SyncLog() override {
    absl::Status s = Gated([&] { return inner()->SyncLog(); });
    absl::MutexLock lock(&mu_);
    if (armed_) ++syncs_;
    return s;
  }
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override {
    if (durability == Durability::kSynced) {
      absl::MutexLock lock(&mu_);
      ++synced_writes_;
    }
    return inner()->PopFirst(table, prefix, durability);
  }

 private:
  template <typename Op>
  absl::Status Gated(Op op) {
    bool counted = false;
    {
      absl::MutexLock lock(&mu_);
      if (armed_) {
        counted = true;
        ++inside_;
        if (together_ > 0 && inside_ >= together_) open_ = true;
        mu_.AwaitWithTimeout(absl::Condition(&open_), timeout_);
        open_ = true;
      }
    }
    absl::Status s = op();
    if (counted) {
      absl::MutexLock lock(&mu_);
      --inside_;
    }
    return s;
  }

  const std::unique_ptr<Store> owned_;  // inner()
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  int together_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration timeout_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
  int synced_writes_ ABSL_GUARDED_BY(mu_) = 0;
  int buffered_ ABSL_GUARDED_BY(mu_) = 0;
  int syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

// The real server over a GatedStore: how handlers' store work is scheduled.
class RpcConcurrencyTest : public RpcTest {
 protected:
  void SetUp() override {
    rate_limits_.registration = {1e6, 1e6};
    rate_limits_.sends_per_device = {1e6, 1e6};
    configure_server_ = [this](ServerOptions& options) {
      options.io_threads = io_threads_;
      options.io_queue = io_queue_;
      options.wrap_store = [this](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
        auto gated = std::make_unique<GatedStore>(std::move(inner));
        gated_ = gated.get();
        return gated;
      };
    };
    RpcTest::SetUp();
  }

  // ana, a therapist, and `n` clients linked to her: her Sends to them lock
  // different queues, so only the server's scheduling can serialise them.
  std::vector<User> RegisterClients(int n) {
    std::vector<User> clients;
    for (int i = 0; i < n; ++i) clients.push_back(Register(absl::StrCat("client-", i)));
    return clients;
  }

  // Sends "hi" from `from` to each of `to` at once, one thread each.
  std::vector<grpc::Status> SendToEach(const User& from, const std::vector<User>& to,
                                       std::atomic<int>* done = nullptr) {
    std::vector<grpc::Status> statuses(to.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < to.size(); ++i) {
      threads.emplace_back([&, i] {
        statuses[i] = Send(from, TextTo(to[i], static_cast<int>(i) + 1, "hi"));
        if (done != nullptr) ++*done;
      });
    }
    for (std::thread& t : threads) t.join();
    return statuses;
  }

  size_t io_threads_ = 64;
  size_t io_queue_ = 4096;
  // The server's store; owned by server_.
  GatedStore* gated_ = nullptr;
};

// A log sync that stalls shows in the operator's counters: the slowest sync,
// the total, and the syncs over 10 ms and over 100 ms.
TEST_F(RpcConcurrencyTest, StatsShowAStalledLogSync) {
  User ana = Register("ana");
  std::vector<User> clients = RegisterClients(1);
  gated_->Arm(/*together=*/0, absl::Seconds(30));
  std::vector<grpc::Status> statuses;
  std::thread sender([&] { statuses = SendToEach(ana, clients); });
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  // Time under test: the disk stalls for 150 ms.
  absl::SleepFor(absl::Milliseconds(150));
  gated_->Release();
  sender.join();
  ASSERT_TRUE(statuses[0].ok()) << Describe(statuses[0]);
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  v1::StatsResponse stats;
  ASSERT_TRUE(op->Stats(Ctx("").get(), v1::StatsRequest(), &stats).ok());
  EXPECT_GE(stats.log_sync_max_micros(), 150'000u);
  EXPECT_GE(stats.log_sync_micros(), 150'000u);
  EXPECT_GE(stats.log_syncs_over_100ms(), 1u);
  EXPECT_GE(stats.log_syncs_over_10ms(), 1u);
  EXPECT_GE(stats.log_syncs(), 1u);
}

// Group commit: while one log sync is on the disk, every Send that arrives
// writes (buffered) and waits for the next sync, which acknowledges them
// all. Nothing is acknowledged before a sync that followed its write.
TEST_F(RpcConcurrencyTest, ConcurrentSendsShareOneLogSync) {
  constexpr int kSends = 24;
  User ana = Register("ana");
  std::vector<User> clients = RegisterClients(kSends);
  gated_->Arm(/*together=*/0, absl::Seconds(30));
  std::atomic<int> done{0};
  std::vector<grpc::Status> statuses;
  std::thread senders([&] { statuses = SendToEach(ana, clients, &done); });
  // The first sync is held on its way to the disk; the other Sends still
  // write, and none of them is acknowledged yet.
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  ASSERT_TRUE(gated_->WaitBuffered(kSends, absl::Seconds(10)));
  // Time under test, not synchronisation: a window in which a premature
  // acknowledgement would show (there is no event to wait for when the
  // behaviour is right).
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(done.load(), 0) << "a Send was acknowledged before its write was synced";
  gated_->Release();
  senders.join();
  for (const grpc::Status& s : statuses) EXPECT_TRUE(s.ok()) << Describe(s);
  // The held sync (which may have covered the first Send) and one more for
  // the rest; a third only if a Send's write raced the second sync's start.
  EXPECT_LE(gated_->syncs(), 3) << kSends << " Sends needed " << gated_->syncs() << " syncs";
}

// Only the log syncer fsyncs: the server's synced writes (registration,
// invites, links, audit) reach the store as unsynced writes followed by a
// log sync, and a refused call (bad credentials, rate limit) is answered,
// and audited, while a sync is held on its way to the disk.
TEST_F(RpcConcurrencyTest, OnlyTheLogSyncerSyncsAndRefusalsDoNotWaitForIt) {
  server_.reset();
  rate_limits_.sends_per_device = {1, 1};  // one Send, then refused
  StartServer();
  User ana = Register("ana");
  std::vector<User> clients = RegisterClients(2);
  EXPECT_EQ(gated_->synced_writes(), 0)
      << "a registration asked RocksDB for its own fsync instead of waiting on the syncer";
  ASSERT_TRUE(Send(clients[0], TextTo(ana, 1, "hi")).ok());

  gated_->Arm(/*together=*/0, absl::Seconds(30));
  // Something is waiting on the held sync.
  std::thread holder([&] { Register("held-reg"); });
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  User impostor = NewUser(clients[0].handle, 1);
  impostor.secret[0] ^= 1;  // the right handle, a wrong secret
  const absl::Time start = absl::Now();
  grpc::Status bad_secret = Send(impostor, TextTo(ana, 2, "let me in"));
  grpc::Status limited = Send(clients[0], TextTo(ana, 3, "again"));
  const absl::Duration refused_in = absl::Now() - start;
  gated_->Release();
  holder.join();
  EXPECT_EQ(bad_secret.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(bad_secret);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(limited);
  EXPECT_LT(refused_in, absl::Seconds(10)) << "a refusal waited for the held sync";
  EXPECT_EQ(gated_->synced_writes(), 0);
}

// Whoever shares a lock with Send (a cancel: the message id's stripe; the
// therapist's claim: the client's conversation lock) lets go of it before
// waiting for the disk: a Send under the same lock is written while their
// sync is held.
TEST_F(RpcConcurrencyTest, ACancelOrClaimWaitingForTheDiskDoesNotHoldUpASend) {
  User ana = Register("ana");
  User sam = Register("client-sam");
  ASSERT_TRUE(Send(sam, TextTo(ana, 1, "waiting")).ok());
  v1::SendRequest later = TextTo(ana, 2, "later");
  later.set_deliver_at_ms(absl::ToUnixMillis(absl::Now() + absl::Hours(1)));
  ASSERT_TRUE(Send(sam, later).ok());

  struct Case {
    std::string name;
    std::function<grpc::Status()> holder;  // waits on the held sync
    v1::SendRequest send;                  // takes the holder's lock
  };
  std::vector<Case> cases;
  cases.push_back({"CancelScheduled",
                   [&] {
                     v1::CancelScheduledRequest req;
                     req.set_message_id(MessageId(2));
                     v1::CancelScheduledResponse resp;
                     return messages_->CancelScheduled(Ctx(sam.Header()).get(), req, &resp);
                   },
                   TextTo(ana, 2, "the same id, sent now")});
  cases.push_back({"Claim",
                   [&] {
                     v1::ClaimRequest req;
                     req.set_client(sam.handle);
                     v1::QueueEntry entry;
                     return queue_->Claim(Ctx(ana.Header()).get(), req, &entry);
                   },
                   TextTo(ana, 3, "to the therapist who is claiming me")});
  for (Case& c : cases) {
    gated_->Arm(/*together=*/0, absl::Seconds(30));
    grpc::Status held_status;
    std::thread holder([&] { held_status = c.holder(); });
    EXPECT_TRUE(gated_->WaitInside(1, absl::Seconds(10))) << c.name;
    const int buffered_before = gated_->buffered();
    grpc::Status sent;
    std::thread sender([&] { sent = Send(sam, c.send); });
    EXPECT_TRUE(gated_->WaitBuffered(buffered_before + 1, absl::Seconds(5)))
        << c.name << " held its lock while waiting for the disk";
    gated_->Release();
    holder.join();
    sender.join();
    EXPECT_TRUE(held_status.ok()) << c.name << ": " << Describe(held_status);
    EXPECT_TRUE(sent.ok()) << c.name << ": " << Describe(sent);
  }
}

TEST_F(RpcConcurrencyTest, ShutdownWithSendsInFlightFinishesEveryCallBeforeClosing) {
  constexpr int kSends = 8;
  User ana = Register("ana");
  std::vector<User> clients = RegisterClients(kSends);
  gated_->Arm(/*together=*/0, absl::Seconds(30));
  std::vector<grpc::Status> statuses;
  std::thread senders([&] { statuses = SendToEach(ana, clients); });
  // The syncer is held inside a log sync; the Sends are written and wait
  // for it.
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  ASSERT_TRUE(gated_->WaitBuffered(kSends, absl::Seconds(10)));
  // Shutdown cancels the calls after its deadline but must wait for the
  // writes in progress; they finish once released.
  std::thread stopper([&] { server_->Shutdown(absl::Milliseconds(100)); });
  // Time under test: Shutdown's 100 ms deadline passes while the sync is
  // held.
  absl::SleepFor(absl::Milliseconds(400));
  gated_->Release();
  stopper.join();
  senders.join();
  server_.reset();  // closes the store: no handler may still be using it

  configure_server_ = nullptr;
  StartServer();
  for (int i = 0; i < kSends; ++i) {
    const grpc::Status& s = statuses[i];
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::CANCELLED ||
                s.error_code() == grpc::StatusCode::UNAVAILABLE)
        << Describe(s);
    // Durable before reply: an OK Send is in the queue after the restart.
    if (s.ok()) {
      EXPECT_THAT(Queue(clients[i]), ElementsAre(::testing::EndsWith(":hi")));
    }
  }
}

TEST_F(RpcConcurrencyTest, FullHandlerQueueFailsFastWithResourceExhausted) {
  server_.reset();
  io_threads_ = 1;
  io_queue_ = 1;
  StartServer();
  User ana = Register("ana");
  std::vector<User> clients = RegisterClients(4);
  ASSERT_TRUE(Send(ana, TextTo(clients[0], 1, "hi")).ok());
  // The request is built first: building it creates an invite, a call of its
  // own whose synced write would otherwise be the one held, and the
  // registration would then race the queued Fetch for the pool.
  User held = NewUser("held-reg", 100);
  const v1::RegisterRequest held_request = RegisterRequestFor(held, 2);
  gated_->Arm(/*together=*/0, absl::Seconds(30));
  grpc::Status first;
  // A registration holds its worker until its write is synced (it waits
  // for the log syncer), and the sync is held.
  std::thread holder([&] {
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    first = accounts_->Register(&ctx, held_request, &resp);
  });
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  // Fetches run on the pool: one waits in the queue; the others are refused
  // without waiting.
  std::atomic<int> done{0};
  std::vector<grpc::Status> statuses(clients.size());
  std::vector<std::thread> fetchers;
  for (size_t i = 0; i < clients.size(); ++i) {
    fetchers.emplace_back([&, i] {
      v1::FetchRequest req;
      v1::FetchResponse resp;
      statuses[i] = messages_->Fetch(Ctx(clients[i].Header()).get(), req, &resp);
      ++done;
    });
  }
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (done.load() < 3 && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(done.load(), 3);
  // Send does not use the pool (nothing in it waits for the disk): it is
  // written now, and acknowledged once the held sync lets go.
  std::atomic<bool> sent{false};
  grpc::Status send_status;
  const int buffered_before = gated_->buffered();
  std::thread sender([&] {
    send_status = Send(ana, TextTo(clients[1], 2, "still accepted"));
    sent = true;
  });
  EXPECT_TRUE(gated_->WaitBuffered(buffered_before + 1, absl::Seconds(10)))
      << "a Send waited for the full pool instead of writing";
  // Time under test: a window in which a premature acknowledgement would
  // show.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(sent.load()) << "a Send was acknowledged before its write was synced";
  gated_->Release();
  holder.join();
  for (std::thread& t : fetchers) t.join();
  sender.join();
  EXPECT_TRUE(first.ok()) << Describe(first);
  EXPECT_TRUE(send_status.ok()) << Describe(send_status);
  int busy = 0;
  int ok = 0;
  for (const grpc::Status& s : statuses) {
    if (s.ok()) ++ok;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        s.error_message() == "server busy; retry") {
      ++busy;
    }
  }
  EXPECT_EQ(busy, 3);
  EXPECT_EQ(ok, 1);
}

}  // namespace
}  // namespace sotto::server::rpc
