// Several sotto-server nodes on one real PostgreSQL (issue 17): live
// delivery across nodes (LISTEN/NOTIFY), a revoked device refused on every
// node at once (no per-node cache), and one leader for send-later releases.
// Both nodes run in this process on loopback ports, on a fake clock they
// share, with the same key files, as a deployment's nodes would.

#include <libpq-fe.h>

#include "server/app/migrate.h"
#include "server/storage/pg_session.h"
#include "sotto/v1/devices.grpc.pb.h"
#include "tests/server/rpc_fixture.h"
#include "tests/testing/postgres_instance.h"

namespace sotto::server::rpc {
namespace {

// A node's client stubs.
struct Node {
  std::unique_ptr<SottoServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Messages::Stub> messages;
  std::unique_ptr<v1::Devices::Stub> devices;
};

class MultiNodeDeliveryTest : public RpcFakeClockTest {
 protected:
  void SetUp() override {
    auto pg = sotto::testing::PostgresInstance::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    configure_server_ = [this](ServerOptions& o) { ConfigureNode(o); };
    RpcFakeClockTest::SetUp();  // node A: the fixture's server_
    devices_a_ = v1::Devices::NewStub(channel_);
    b_ = StartNode("b");
  }

  // What every node shares: the database and the key files.
  void ConfigureNode(ServerOptions& o) {
    o.store = pg_->url();
    o.audit_key_file = dir_.path() + "/audit-key";
    o.code_pepper_file = dir_.path() + "/code-pepper";
  }

  Node StartNode(const std::string& name) {
    ServerOptions options;
    options.data_dir = dir_.path() + "/" + name;
    options.listen_address = "127.0.0.1:0";
    options.clock = &clock_;
    ConfigureNode(options);
    Node n;
    auto server = SottoServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return n;
    n.server = *std::move(server);
    n.channel = grpc::CreateChannel(n.server->address(), grpc::InsecureChannelCredentials());
    n.messages = v1::Messages::NewStub(n.channel);
    n.devices = v1::Devices::NewStub(n.channel);
    return n;
  }

  // Runs `sql` on a connection of the test's own, as the superuser.
  void Sql(const std::string& sql) {
    ASSERT_NE(admin_, nullptr);
    absl::StatusOr<PgResultPtr> r = ExecPg(admin_.get(), sql);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Links a second device of `owner` through node A; its header.
  std::string LinkSecondDevice(const User& owner) { return LinkDeviceThrough(*devices_a_, owner); }

  grpc::Status FetchOn(v1::Messages::Stub& stub, const std::string& header) {
    v1::FetchRequest req;
    req.set_limit(1);
    v1::FetchResponse resp;
    return stub.Fetch(Ctx(header).get(), req, &resp);
  }

  // Waits up to 20 s for exactly one node of `nodes` to lead; it, or null.
  static SottoServer* AwaitOneLeader(const std::vector<SottoServer*>& nodes) {
    for (absl::Time until = absl::Now() + absl::Seconds(20); absl::Now() < until;
         absl::SleepFor(absl::Milliseconds(20))) {
      SottoServer* leader = nullptr;
      int leaders = 0;
      for (SottoServer* n : nodes) {
        if (n->leads()) ++leaders, leader = n;
      }
      if (leaders == 1) return leader;
    }
    return nullptr;
  }

  v1::SendRequest LaterTo(const User& to, int id, const std::string& text, int64_t at_ms) {
    v1::SendRequest req = TextTo(to, id, text);
    req.set_deliver_at_ms(at_ms);
    return req;
  }

  void TearDown() override {
    b_.server.reset();
    server_.reset();
  }

  std::unique_ptr<sotto::testing::PostgresInstance> pg_;
  PgConnPtr admin_;
  std::unique_ptr<v1::Devices::Stub> devices_a_;
  Node b_;
};

TEST_F(MultiNodeDeliveryTest, SubscribeOnOneNodeReceivesASendMadeThroughAnother) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  Stream on_b = SubscribeToEmptyQueue(*b_.messages, bob);

  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "via a")).ok());  // node A
  EXPECT_THAT(ReadEnvelopes(*on_b.reader, 1), ::testing::ElementsAre("1:via a"));
  CloseStream(std::move(on_b));
}

TEST_F(MultiNodeDeliveryTest, SubscribeResumesAfterTheListeningConnectionIsKilled) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  Stream on_b = SubscribeToEmptyQueue(*b_.messages, bob);
  absl::StatusOr<PgConnPtr> admin = ConnectPgSession(pg_->url());
  ASSERT_TRUE(admin.ok()) << admin.status();
  admin_ = *std::move(admin);

  // The listeners lose their connections and cannot come back (no new
  // sessions) while A stores a Send: its NOTIFY reaches nobody.
  Sql("ALTER ROLE sotto NOLOGIN");
  // (Waiting up to 5 s for each to end: a backend not yet gone would still
  // deliver the NOTIFY.)
  Sql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
      "WHERE query LIKE 'LISTEN %'");
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "while b was away")).ok());
  Sql("ALTER ROLE sotto LOGIN");

  // B's listener reconnects and wakes its streams once: nothing is missed.
  EXPECT_THAT(ReadEnvelopes(*on_b.reader, 1), ::testing::ElementsAre("1:while b was away"));
  // And live delivery goes on.
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "after")).ok());
  EXPECT_THAT(ReadEnvelopes(*on_b.reader, 1), ::testing::ElementsAre("2:after"));
  CloseStream(std::move(on_b));
}

TEST_F(MultiNodeDeliveryTest, ADeviceRemovedThroughOneNodeIsRefusedByAnotherAtOnce) {
  User ana = Register("ana");
  const std::string second = LinkSecondDevice(ana);
  // Node B has served the second device (and would have it cached).
  ASSERT_TRUE(FetchOn(*b_.messages, second).ok());

  v1::RemoveDeviceRequest remove;
  remove.set_device_id(2);
  v1::RemoveDeviceResponse removed;
  grpc::Status s = devices_a_->Remove(Ctx(ana.Header()).get(), remove, &removed);
  ASSERT_TRUE(s.ok()) << Describe(s);

  EXPECT_EQ(FetchOn(*b_.messages, second).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(FetchOn(*b_.messages, ana.Header()).ok());
}

TEST_F(MultiNodeDeliveryTest, OneNodeReleasesAHeldMessageOnceAndAnotherTakesOverWhenItStops) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  SottoServer* leader = AwaitOneLeader({server_.get(), b_.server.get()});
  ASSERT_NE(leader, nullptr) << "no single leader within 20 s";
  Stream on_b = SubscribeToEmptyQueue(*b_.messages, bob);

  ASSERT_TRUE(Send(ana, LaterTo(bob, 1, "later", clock_.NowMillis() + 60'000)).ok());
  clock_.Advance(61'000);
  server_->WakeReleaser();
  b_.server->WakeReleaser();
  EXPECT_THAT(ReadEnvelopes(*on_b.reader, 1), ::testing::ElementsAre("1:later"));
  EXPECT_EQ(Queue(bob).size(), 1u);
  CloseStream(std::move(on_b));

  // The leader stops; the other node is elected and releases the next one.
  const bool a_led = leader == server_.get();
  if (a_led) {
    server_->Shutdown();
    ASSERT_EQ(AwaitOneLeader({b_.server.get()}), b_.server.get());
  } else {
    b_.server->Shutdown();
    ASSERT_EQ(AwaitOneLeader({server_.get()}), server_.get());
  }
  v1::Messages::Stub& survivor = a_led ? *b_.messages : *messages_;
  Stream on_survivor{Ctx(bob.Header()), nullptr};
  on_survivor.reader = survivor.Subscribe(on_survivor.ctx.get(), v1::SubscribeRequest());
  v1::SendResponse ignored;
  ASSERT_TRUE(survivor
                  .Send(Ctx(ana.Header()).get(),
                        LaterTo(bob, 2, "later again", clock_.NowMillis() + 60'000), &ignored)
                  .ok());
  clock_.Advance(61'000);
  (a_led ? b_.server : server_)->WakeReleaser();
  // The first is still queued (never acked), then the one just released.
  EXPECT_THAT(ReadEnvelopes(*on_survivor.reader, 2),
              ::testing::ElementsAre("1:later", "2:later again"));
  CloseStream(std::move(on_survivor));
}

// A practice's RocksDB server, then `sotto-server migrate` into PostgreSQL.
class MigrateTest : public RpcTest {
 protected:
  void SetUp() override {
    auto pg = sotto::testing::PostgresInstance::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    RpcTest::SetUp();  // RocksDB in dir_/db
  }

  // Restarts the fixture's server on the migrated database, with the
  // practice's key files.
  void StartOnTarget() {
    configure_server_ = [this](ServerOptions& o) {
      o.store = pg_->url();
      o.data_dir = dir_.path() + "/node";
      o.audit_key_file = dir_.path() + "/db.audit-key";
      o.code_pepper_file = dir_.path() + "/db.code-pepper";
    };
    StartServer();
  }

  // The server goes before the database it uses.
  void TearDown() override { server_.reset(); }

  std::unique_ptr<sotto::testing::PostgresInstance> pg_;
};

TEST_F(MigrateTest, MovesAPracticeAndTheServerOnTheTargetServesItsQueues) {
  User ana = Register("ana");
  User bob = Register("bob", 222);  // linked to ana by the invite
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "first")).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "second")).ok());
  server_.reset();

  absl::StatusOr<MigrationReport> report =
      MigrateToPostgres(dir_.path() + "/db", pg_->url(), dir_.path() + "/db.audit-key");
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, uint64_t> rows;
  for (const MigratedTable& t : report->tables) rows[std::string(TableName(t.table))] = t.rows;
  EXPECT_EQ(rows["accounts"], 2u);
  EXPECT_EQ(rows["queues"], 2u);
  EXPECT_GE(rows["links"], 1u);
  EXPECT_GT(report->audit_entries, 0u);

  StartOnTarget();
  EXPECT_THAT(Queue(bob), ::testing::ElementsAre("1:first", "2:second"));
  // The link came along: bob can still write to ana.
  EXPECT_TRUE(Send(bob, TextTo(ana, 3, "reply")).ok());
}

TEST_F(MigrateTest, RefusesATargetThatHoldsDataAndWritesNothing) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "first")).ok());
  server_.reset();
  ASSERT_TRUE(
      MigrateToPostgres(dir_.path() + "/db", pg_->url(), dir_.path() + "/db.audit-key").ok());
  StartOnTarget();
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "on postgres")).ok());
  server_.reset();

  absl::StatusOr<MigrationReport> again =
      MigrateToPostgres(dir_.path() + "/db", pg_->url(), dir_.path() + "/db.audit-key");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_THAT(std::string(again.status().message()),
              ::testing::HasSubstr("already holds data (table accounts)"));
  StartOnTarget();
  EXPECT_THAT(Queue(bob), ::testing::ElementsAre("1:first", "2:on postgres"));
}

}  // namespace
}  // namespace sotto::server::rpc
