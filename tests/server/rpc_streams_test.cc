// The gRPC surface of the server: Subscribe streams (backlog, live
// delivery, flow control, the per-device limit), keepalive, idle
// connections and shutdown.

#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

TEST_F(RpcTest, SubscribeStreamsBacklogThenDrainedThenLiveEnvelopes) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "one")).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "two")).ok());

  auto ctx = Ctx(bob.Header());
  auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
  v1::SubscribeEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.envelope().ciphertext(), "one");
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.envelope().ciphertext(), "two");
  EXPECT_EQ(event.envelope().seq(), 2u);
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_TRUE(event.drained());

  ASSERT_TRUE(Send(ana, TextTo(bob, 3, "three")).ok());
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.envelope().ciphertext(), "three");
  EXPECT_EQ(event.envelope().sender(), "ana");
  EXPECT_EQ(event.envelope().seq(), 3u);

  ctx->TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Streaming deleted nothing: envelopes go only by Ack.
  EXPECT_EQ(Queue(bob).size(), 3u);
}

TEST_F(RpcTest, SubscribeStreamsALongBacklogInOrder) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  constexpr int kCount = 250;  // more than one page
  for (int i = 1; i <= kCount; ++i) {
    ASSERT_TRUE(Send(ana, TextTo(bob, i, absl::StrCat("m", i))).ok());
  }
  auto ctx = Ctx(bob.Header());
  auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
  v1::SubscribeEvent event;
  for (int i = 1; i <= kCount; ++i) {
    ASSERT_TRUE(reader->Read(&event));
    ASSERT_EQ(event.envelope().ciphertext(), absl::StrCat("m", i));
  }
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_TRUE(event.drained());
  ctx->TryCancel();
  while (reader->Read(&event)) {
  }
  (void)reader->Finish();
}

// Concurrent Sends to one device reach its subscriptions out of order (each
// is reported after its own log sync); a stream that is caught up streams
// the next one as reported and reads the queue back on any gap. Either way
// every envelope arrives once, in seq order: on a stream opened before the
// Sends and on one opened while they run (backlog and live envelopes racing).
TEST_F(RpcTest, SubscribeStreamsConcurrentSendsOnceEachInSeqOrder) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  constexpr int kTotal = kThreads * kPerThread;

  Stream early = SubscribeToEmptyQueue(*messages_, bob);

  std::atomic<int> failed{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = 1 + t * kPerThread + i;
        if (!Send(ana, TextTo(bob, id, absl::StrCat("m", id))).ok()) ++failed;
      }
    });
  }
  // Opened while the Sends run.
  auto late_ctx = Ctx(bob.Header());
  late_ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::unique_ptr<grpc::ClientReader<v1::SubscribeEvent>> late;
  std::thread late_opener([&] {
    // Once the server has accepted a Send (the counter is the event).
    for (absl::Time until = absl::Now() + absl::Seconds(10);
         OperatorStats().sends_ok() == 0 && absl::Now() < until;) {
    }
    late = messages_->Subscribe(late_ctx.get(), v1::SubscribeRequest());
  });
  std::vector<std::string> early_got = ReadEnvelopes(*early.reader, kTotal);
  for (std::thread& t : senders) t.join();
  late_opener.join();
  ASSERT_EQ(failed.load(), 0);
  std::vector<std::string> late_got = ReadEnvelopes(*late, kTotal);

  const std::vector<std::string> stored = Queue(bob);
  ASSERT_EQ(stored.size(), static_cast<size_t>(kTotal));
  EXPECT_EQ(early_got, stored) << "the stream skipped, repeated or reordered envelopes";
  EXPECT_EQ(late_got, stored) << "the late stream skipped, repeated or reordered envelopes";

  for (auto* ctx : {early.ctx.get(), late_ctx.get()}) ctx->TryCancel();
  v1::SubscribeEvent event;
  while (early.reader->Read(&event)) {
  }
  while (late->Read(&event)) {
  }
  (void)early.reader->Finish();
  (void)late->Finish();
}

// A client that stops reading: the server's writes stall on flow control,
// the stream buffers at most a page and leaves the rest in the queue. Once
// the client reads again it gets every envelope, once, in order.
TEST_F(RpcTest, SubscribeCatchesUpAfterTheClientStoppedReading) {
  RestartLifting(&RateLimitOptions::sends_per_device);
  User ana = Register("ana");
  User bob = Register("bob", 222);
  // Bob's stream on its own connection, whose receive window stays at
  // HTTP/2's 64 KiB (no bandwidth probing to grow it).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto bob_messages = v1::Messages::NewStub(
      grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
  Stream stream = SubscribeToEmptyQueue(*bob_messages, bob);

  // Far more than the windows hold, plus the stream's page.
  constexpr int kCount = 1500;
  const std::string padding(1000, 'p');
  for (int i = 1; i <= kCount; ++i) {
    grpc::Status sent = Send(ana, TextTo(bob, i, absl::StrCat("m", i, padding)));
    ASSERT_TRUE(sent.ok()) << i << ": " << Describe(sent);
  }
  std::vector<std::string> want;
  for (int i = 1; i <= kCount; ++i) want.push_back(absl::StrCat(i, ":m", i, padding));
  int drained_again = 0;
  EXPECT_EQ(ReadEnvelopes(*stream.reader, kCount, &drained_again), want);
  EXPECT_EQ(drained_again, 0) << "only envelopes follow the first drained";
  stream.ctx->TryCancel();
  v1::SubscribeEvent event;
  while (stream.reader->Read(&event)) {
  }
  (void)stream.reader->Finish();
}

// The rule behind the stream above, case by case (the concurrent test hits
// the out-of-order cases only when the scheduler makes them happen).
TEST(SubscribeRuleTest, StreamsOnlyTheNextSeqAfterAllItHasRead) {
  // Caught up through seq 7, nothing buffered.
  EXPECT_EQ(OnQueueGrowth(8, 7, false, 0), QueueGrowthStep::kStreamReported);
  // Seq 8 not seen yet (its Send finishes later): read the queue for both.
  EXPECT_EQ(OnQueueGrowth(9, 7, false, 0), QueueGrowthStep::kReadQueue);
  // ... then 8's own wake-up finds it read.
  EXPECT_EQ(OnQueueGrowth(8, 9, false, 0), QueueGrowthStep::kAlreadyRead);
  EXPECT_EQ(OnQueueGrowth(9, 9, false, 0), QueueGrowthStep::kAlreadyRead);
  // A restart's seq floor, or a release that names no envelope: read.
  EXPECT_EQ(OnQueueGrowth(uint64_t{5000} << 20, 7, false, 0), QueueGrowthStep::kReadQueue);
  EXPECT_EQ(OnQueueGrowth(std::nullopt, 7, false, 0), QueueGrowthStep::kReadQueue);
  // The backlog is still being read: that read will find it.
  EXPECT_EQ(OnQueueGrowth(8, 7, true, 0), QueueGrowthStep::kReadQueue);
  // A client that stopped reading: the buffer stops at one page.
  EXPECT_EQ(OnQueueGrowth(8, 7, false, kSubscribePage - 1), QueueGrowthStep::kStreamReported);
  EXPECT_EQ(OnQueueGrowth(8, 7, false, kSubscribePage), QueueGrowthStep::kReadQueue);
}

// A device holds at most max_streams_per_device streams. One more (the
// phone reconnected before its old connection was noticed dead) ends the
// device's oldest with ABORTED saying why, and every stream left, the new one
// included, still gets the device's envelopes. Other devices are untouched,
// and streams that ended by themselves leave no trace in the count.
TEST_F(RpcTest, ANewStreamBeyondTheDeviceLimitReplacesItsOldest) {
  const size_t limit = ServerOptions().max_streams_per_device;
  User ana = Register("ana");
  User bob = Register("bob", 222);
  for (size_t i = 0; i < 2 * limit; ++i) CloseStream(SubscribeToEmptyQueue(*messages_, bob));
  // The server ends a cancelled stream a moment after the client let go
  // (on a busy machine a later open may even replace one still ending).
  ASSERT_TRUE(AwaitOpenStreams(0));
  const uint64_t replaced_before = OperatorStats().subscriptions_replaced();
  Stream anas = SubscribeToEmptyQueue(*messages_, ana);
  std::vector<Stream> bobs;
  for (size_t i = 0; i < limit; ++i) bobs.push_back(SubscribeToEmptyQueue(*messages_, bob));
  EXPECT_EQ(OperatorStats().subscriptions_replaced(), replaced_before)
      << "streams that ended still count against the limit";

  bobs.push_back(SubscribeToEmptyQueue(*messages_, bob));
  v1::SubscribeEvent event;
  EXPECT_FALSE(bobs.front().reader->Read(&event));
  EXPECT_THAT(bobs.front().reader->Finish(),
              GrpcIs(grpc::StatusCode::ABORTED, "replaced: device bob.1 opened a newer"));
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "to every open stream")).ok());
  for (size_t i = 1; i < bobs.size(); ++i) {
    EXPECT_THAT(ReadEnvelopes(*bobs[i].reader, 1),
                ElementsAre(::testing::EndsWith(":to every open stream")))
        << "stream " << i;
  }
  ASSERT_TRUE(Send(bob, TextTo(ana, 2, "and ana's")).ok());
  EXPECT_THAT(ReadEnvelopes(*anas.reader, 1), ElementsAre(::testing::EndsWith(":and ana's")));
  // The replaced stream's own end may trail its ABORTED.
  EXPECT_TRUE(AwaitOpenStreams(limit + 1)) << OperatorStats().subscriptions_open();
  EXPECT_EQ(OperatorStats().subscriptions_replaced(), replaced_before + 1);
  for (size_t i = 1; i < bobs.size(); ++i) CloseStream(std::move(bobs[i]));
  CloseStream(std::move(anas));
}

// Streams of one device opened and cancelled from many threads at once:
// replacing a stream races its own end. Every stream ends, none twice (the
// sanitizer build watches the reactors' lifetimes), and the count returns
// to zero.
TEST_F(RpcTest, StreamsOpenedAndClosedConcurrentlyAllEnd) {
  User bob = Register("bob", 222);
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto ctx = Ctx(bob.Header());
        auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
        v1::SubscribeEvent event;
        // Six threads hold up to six streams: some end replaced.
        if (reader->Read(&event) && event.drained()) opened.fetch_add(1);
        ctx->TryCancel();
        while (reader->Read(&event)) {
        }
        (void)reader->Finish();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 6 * 25) << "every stream opens, even while others are replaced";
  // Two in three, in the runs tried: the race between replacing a stream and
  // its own end really runs.
  EXPECT_GT(OperatorStats().subscriptions_replaced(), 0u);
  EXPECT_TRUE(AwaitOpenStreams(0)) << OperatorStats().subscriptions_open() << " still open";
}

// Keepalive: the server pings a quiet connection and, when the client has
// vanished without closing it, ends its streams (and frees their listeners
// and buffers) within keepalive_time + keepalive_timeout rather than when TCP
// gives up. Pings go on for as long as the stream stays quiet (the pause
// before the fault lasts several keepalive periods, all answered).
TEST_F(RpcTest, KeepaliveEndsTheStreamsOfAClientThatVanished) {
  configure_server_ = [](ServerOptions& options) {
    options.keepalive_time = absl::Milliseconds(300);
    // Room for a loaded (or sanitizer) build to answer in time.
    options.keepalive_timeout = absl::Seconds(2);
  };
  server_.reset();
  StartServer();
  User bob = Register("bob", 222);
  sotto::testing::TcpProxy proxy(server_->port());
  auto via_proxy = v1::Messages::NewStub(
      grpc::CreateChannel(proxy.address(), grpc::InsecureChannelCredentials()));
  Stream stream = SubscribeToEmptyQueue(*via_proxy, bob);
  // Time under test: ten keepalive periods, all answered.
  absl::SleepFor(absl::Seconds(3));
  ASSERT_EQ(OperatorStats().subscriptions_open(), 1u) << "an answered ping ended the stream";

  proxy.Blackhole();
  EXPECT_TRUE(AwaitOpenStreams(0)) << "the stream of a vanished client is still open";
  stream.ctx->TryCancel();
  CloseStream(std::move(stream));
}

// A connection with no call open is closed after idle_connection_timeout:
// it is never pinged, so this is what frees one a client left behind. One
// with a Subscribe stream open stays, however quiet, and still delivers.
TEST_F(RpcTest, AConnectionWithoutCallsClosesButOneWithAStreamStays) {
  configure_server_ = [](ServerOptions& options) {
    options.idle_connection_timeout = absl::Milliseconds(500);
  };
  server_.reset();
  StartServer();
  User ana = Register("ana");
  User bob = Register("bob", 222);
  auto own_connection = [this] {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args);
  };
  std::shared_ptr<grpc::Channel> idle = own_connection();
  v1::WhoAmIResponse who;
  ASSERT_TRUE(v1::Accounts::NewStub(idle)->WhoAmI(Ctx(bob.Header()).get(), {}, &who).ok());
  ASSERT_EQ(idle->GetState(false), GRPC_CHANNEL_READY);
  std::shared_ptr<grpc::Channel> streaming = own_connection();
  auto streaming_messages = v1::Messages::NewStub(streaming);
  Stream stream = SubscribeToEmptyQueue(*streaming_messages, bob);

  // Time under test: several idle_connection_timeouts pass.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(idle->GetState(false), GRPC_CHANNEL_IDLE) << "the connection without calls is open";
  EXPECT_EQ(streaming->GetState(false), GRPC_CHANNEL_READY);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "still here")).ok());
  EXPECT_THAT(ReadEnvelopes(*stream.reader, 1), ElementsAre(::testing::EndsWith(":still here")));
  CloseStream(std::move(stream));
}

TEST_F(RpcTest, ServerShutdownEndsOpenSubscriptions) {
  User bob = Register("bob", 222);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SubscribeEvent>>> readers;
  // As many as one device may hold.
  for (size_t i = 0; i < ServerOptions().max_streams_per_device; ++i) {
    contexts.push_back(Ctx(bob.Header()));
    readers.push_back(messages_->Subscribe(contexts.back().get(), v1::SubscribeRequest()));
    v1::SubscribeEvent event;
    ASSERT_TRUE(readers.back()->Read(&event));
    ASSERT_TRUE(event.drained());
  }
  server_->Shutdown(absl::Milliseconds(200));
  server_.reset();
  for (auto& reader : readers) {
    v1::SubscribeEvent event;
    while (reader->Read(&event)) {
    }
    EXPECT_FALSE(reader->Finish().ok());
  }
}

}  // namespace
}  // namespace sotto::server::rpc
