#include "server/domain/mailbox.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "tests/server/domain_fixture.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string MessageId(int n) {
  std::string id(kMessageIdBytes, '\0');
  id[0] = static_cast<char>(n);
  id[1] = static_cast<char>(n >> 8);
  return id;
}

OutgoingEnvelope To(uint32_t device, uint32_t registration_id, std::string text) {
  return OutgoingEnvelope{device, registration_id, kEnvelopeTypeCiphertext, std::move(text)};
}

class MailboxTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    alice_ = Register("alice", 11);
    bob_ = Register("bob", 22);
  }

  absl::StatusOr<SendResult> SendText(int id, const std::string& text) {
    return mailbox_->Send(alice_, "bob", MessageId(id), {To(1, 22, text)});
  }

  // "seq:text" of every envelope in `device`'s queue.
  std::vector<std::string> Queue(const AuthenticatedDevice& device) {
    std::vector<std::string> out;
    auto r = mailbox_->Fetch(device, 0, kMaxFetchBatch);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      for (const StoredEnvelope& e : r->envelopes) {
        out.push_back(absl::StrCat(e.seq, ":", e.ciphertext));
      }
    }
    return out;
  }

  AuthenticatedDevice alice_;
  AuthenticatedDevice bob_;
};

TEST_F(MailboxTest, FetchReturnsEnvelopesInSendOrderStampedBySender) {
  clock_.Set(1'000);
  ASSERT_OK(SendText(1, "one").status());
  clock_.Set(2'000);
  ASSERT_OK(SendText(2, "two").status());
  ASSERT_OK_AND_ASSIGN(FetchResult r, mailbox_->Fetch(bob_, 0, 0));
  ASSERT_EQ(r.envelopes.size(), 2u);
  EXPECT_FALSE(r.more);
  const StoredEnvelope& e = r.envelopes[0];
  EXPECT_EQ(e.seq, 1u);
  EXPECT_EQ(e.sender, "alice");
  EXPECT_EQ(e.sender_device, 1u);
  EXPECT_EQ(e.type, kEnvelopeTypeCiphertext);
  EXPECT_EQ(e.ciphertext, "one");
  EXPECT_EQ(e.server_time_ms, 1'000);
  EXPECT_EQ(e.message_id, MessageId(1));
  EXPECT_EQ(r.envelopes[1].seq, 2u);
  EXPECT_EQ(r.envelopes[1].server_time_ms, 2'000);
}

TEST_F(MailboxTest, FetchPagesWithAfterSeqAndMore) {
  for (int i = 1; i <= 5; ++i) ASSERT_OK(SendText(i, absl::StrCat("m", i)).status());
  ASSERT_OK_AND_ASSIGN(FetchResult page, mailbox_->Fetch(bob_, 0, 2));
  ASSERT_EQ(page.envelopes.size(), 2u);
  EXPECT_TRUE(page.more);
  ASSERT_OK_AND_ASSIGN(page, mailbox_->Fetch(bob_, 2, 2));
  EXPECT_EQ(page.envelopes[0].seq, 3u);
  EXPECT_TRUE(page.more);
  ASSERT_OK_AND_ASSIGN(page, mailbox_->Fetch(bob_, 4, 2));
  ASSERT_EQ(page.envelopes.size(), 1u);
  EXPECT_FALSE(page.more);
  EXPECT_THAT(mailbox_->Fetch(bob_, 0, kMaxFetchBatch + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

TEST_F(MailboxTest, AckDeletesOnlyAckedEnvelopes) {
  for (int i = 1; i <= 4; ++i) ASSERT_OK(SendText(i, absl::StrCat("m", i)).status());
  ASSERT_OK_AND_ASSIGN(uint32_t deleted, mailbox_->Ack(bob_, {2, 4, 99}));
  EXPECT_EQ(deleted, 2u);
  EXPECT_THAT(Queue(bob_), ElementsAre("1:m1", "3:m3"));
  // Acks are idempotent.
  ASSERT_OK_AND_ASSIGN(deleted, mailbox_->Ack(bob_, {2, 4}));
  EXPECT_EQ(deleted, 0u);
}

// A device acks what it fetched (a dense run of seqs, read as one range):
// gaps, already-acked and future seqs are skipped, and only what existed
// counts — for the caller and for the queue's depth.
TEST_F(MailboxTest, AckOfARunOfSeqsDeletesExactlyThoseStored) {
  for (int i = 1; i <= 6; ++i) ASSERT_OK(SendText(i, absl::StrCat("m", i)).status());
  ASSERT_OK_AND_ASSIGN(uint32_t deleted, mailbox_->Ack(bob_, {1, 2, 3, 5}));
  EXPECT_EQ(deleted, 4u);
  EXPECT_THAT(Queue(bob_), ElementsAre("4:m4", "6:m6"));
  ASSERT_OK_AND_ASSIGN(deleted, mailbox_->Ack(bob_, {3, 4, 5, 6, 7}));
  EXPECT_EQ(deleted, 2u);
  EXPECT_THAT(Queue(bob_), ElementsAre());
  // Sequence numbers keep rising after the range delete.
  ASSERT_OK(SendText(7, "m7").status());
  EXPECT_THAT(Queue(bob_), ElementsAre("7:m7"));
}

TEST_F(MailboxTest, AckTouchesOnlyTheCallersQueue) {
  ASSERT_OK(SendText(1, "for bob").status());
  ASSERT_OK(mailbox_->Send(bob_, "alice", MessageId(1), {To(1, 11, "for alice")}).status());
  // Alice acks seq 1: that is her own envelope, never bob's.
  ASSERT_OK_AND_ASSIGN(uint32_t deleted, mailbox_->Ack(alice_, {1}));
  EXPECT_EQ(deleted, 1u);
  EXPECT_THAT(Queue(bob_), ElementsAre("1:for bob"));
  EXPECT_THAT(Queue(alice_), ElementsAre());
}

TEST_F(MailboxTest, RetriedSendIsADuplicateAndQueuesNothing) {
  clock_.Set(5'000);
  ASSERT_OK_AND_ASSIGN(SendResult first, SendText(1, "hello"));
  EXPECT_FALSE(first.duplicate);
  clock_.Set(6'000);
  ASSERT_OK_AND_ASSIGN(SendResult again, SendText(1, "hello"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.server_time_ms, 5'000);
  EXPECT_THAT(Queue(bob_), ElementsAre("1:hello"));
  // The same id from another sender is a different message.
  AuthenticatedDevice carol = Register("carol", 33);
  ASSERT_OK_AND_ASSIGN(SendResult other,
                       mailbox_->Send(carol, "bob", MessageId(1), {To(1, 22, "hi")}));
  EXPECT_FALSE(other.duplicate);
}

TEST_F(MailboxTest, ReusedIdForAnotherRecipientOrOtherEnvelopesIsInvalidArgument) {
  AuthenticatedDevice carol = Register("carol", 33);
  ASSERT_OK(SendText(1, "for bob").status());
  // Same (sender device, id), another recipient: not a retry.
  EXPECT_THAT(mailbox_->Send(alice_, "carol", MessageId(1), {To(1, 33, "for bob")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("was already used for a different message")));
  // Same recipient, other ciphertext: not a retry either.
  EXPECT_THAT(SendText(1, "something else"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("message id")));
  EXPECT_THAT(Queue(carol), ElementsAre());
  EXPECT_THAT(Queue(bob_), ElementsAre("1:for bob"));
  // The real retry is still recognised.
  ASSERT_OK_AND_ASSIGN(SendResult again, SendText(1, "for bob"));
  EXPECT_TRUE(again.duplicate);
}

TEST_F(MailboxTest, IdempotencyRecordHoldsADigestNotTheRecipient) {
  ASSERT_OK(SendText(1, "hello").status());
  auto rows = store_->Scan(Table::kIdempotency, "", "", 10);
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value.find("bob"), std::string::npos);
  EXPECT_EQ((*rows)[0].value.find("hello"), std::string::npos);
}

TEST_F(MailboxTest, SweepDeletesOnlyExpiredIdempotencyRecords) {
  ASSERT_OK(SendText(1, "old").status());
  clock_.Advance(kIdempotencyRetentionMs / 2);
  ASSERT_OK(SendText(2, "newer").status());
  ASSERT_OK_AND_ASSIGN(size_t none, mailbox_->SweepIdempotency());
  EXPECT_EQ(none, 0u);
  clock_.Advance(kIdempotencyRetentionMs / 2);
  ASSERT_OK_AND_ASSIGN(size_t one, mailbox_->SweepIdempotency());
  EXPECT_EQ(one, 1u);
  auto rows = store_->Scan(Table::kIdempotency, "", "", 10);
  ASSERT_OK(rows.status());
  EXPECT_EQ(rows->size(), 1u);
  // The surviving record still makes a retry a duplicate.
  ASSERT_OK_AND_ASSIGN(SendResult again, SendText(2, "newer"));
  EXPECT_TRUE(again.duplicate);
}

TEST_F(MailboxTest, IdempotencyRecordExpiresAfterRetention) {
  ASSERT_OK(SendText(1, "hello").status());
  clock_.Advance(kIdempotencyRetentionMs + 1);
  ASSERT_OK_AND_ASSIGN(SendResult late, SendText(1, "hello"));
  EXPECT_FALSE(late.duplicate);
  EXPECT_EQ(Queue(bob_).size(), 2u);
}

TEST_F(MailboxTest, FullQueueIsResourceExhaustedNamingTheDevice) {
  Open(MailboxOptions{/*max_queue_depth=*/3});
  for (int i = 1; i <= 3; ++i) ASSERT_OK(SendText(i, "x").status());
  EXPECT_THAT(SendText(4, "x"), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("bob.1")));
  // Acking makes room again.
  ASSERT_OK(mailbox_->Ack(bob_, {1}).status());
  EXPECT_OK(SendText(5, "x").status());
}

TEST_F(MailboxTest, QueueQuotaInBytesNamesTheDeviceNotTheContent) {
  MailboxOptions options;
  options.max_queue_bytes = 3 * 1200;  // three 1000-byte envelopes and their framing
  Open(options);
  const std::string big(1000, 'q');
  for (int i = 1; i <= 3; ++i) ASSERT_OK(SendText(i, big).status());
  auto full = SendText(4, std::string(1000, 's'));
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("bob.1")));
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("bytes"));
  EXPECT_EQ(std::string(full.status().message()).find("qqq"), std::string::npos);
  EXPECT_EQ(std::string(full.status().message()).find("alice"), std::string::npos);
  // A small envelope still fits by count but not by bytes: the byte quota is
  // what refused; acking frees its bytes.
  ASSERT_OK(mailbox_->Ack(bob_, {1}).status());
  EXPECT_OK(SendText(5, big).status());
  // The byte count survives a reopen.
  Open(options);
  EXPECT_THAT(SendText(6, big), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(MailboxTest, UndeliveredEnvelopesExpireAfterTheRetention) {
  MailboxOptions options;
  options.retention_ms = 1000;
  Open(options);
  ASSERT_OK(SendText(1, "old").status());
  ASSERT_OK(SendText(2, "old too").status());
  clock_.Advance(600);
  ASSERT_OK(SendText(3, "young").status());
  clock_.Advance(400);  // 1 and 2 are now 1000 ms old
  auto swept = mailbox_->SweepExpiredEnvelopes();
  ASSERT_OK(swept.status());
  EXPECT_EQ(*swept, 2u);
  EXPECT_THAT(Queue(bob_), ElementsAre("3:young"));
  // The counts were fixed: the depth quota sees one envelope.
  options.max_queue_depth = 2;
  Open(options);
  EXPECT_OK(SendText(4, "x").status());
  EXPECT_THAT(SendText(5, "x"), StatusIs(absl::StatusCode::kResourceExhausted));
  // Retention 0 keeps everything.
  options.retention_ms = 0;
  Open(options);
  clock_.Advance(1'000'000);
  EXPECT_EQ(*mailbox_->SweepExpiredEnvelopes(), 0u);
}

// Sends, Acks and the retention sweep race on the same queues; queue meta is
// rewritten in place under them (rocksdb_store.cc) and scanned by the sweep.
// Afterwards every queue's recorded depth and bytes are exactly what it holds,
// and every envelope accepted was acked, swept or is still queued.
TEST_F(MailboxTest, QueueCountsStayExactWhileSendsAcksAndSweepsRace) {
  MailboxOptions options;
  options.retention_ms = 50;
  Open(options);
  constexpr int kSendsPerSender = 400;
  std::atomic<uint64_t> accepted{0}, acked{0}, swept{0};
  std::atomic<bool> sending{true};
  auto sender = [&](const AuthenticatedDevice& from, const std::string& to, uint32_t reg) {
    for (int i = 0; i < kSendsPerSender; ++i) {
      // Sizes vary, so the bytes count changes by different amounts.
      auto r = mailbox_->Send(from, to, MessageId(i), {To(1, reg, std::string(1 + i % 300, 'c'))});
      ASSERT_OK(r.status());
      ++accepted;
    }
  };
  auto acker = [&](const AuthenticatedDevice& me) {
    while (sending) {
      auto page = mailbox_->Fetch(me, 0, 10);
      ASSERT_OK(page.status());
      std::vector<uint64_t> seqs;
      for (const StoredEnvelope& e : page->envelopes) seqs.push_back(e.seq);
      if (seqs.empty()) continue;
      auto n = mailbox_->Ack(me, seqs);
      ASSERT_OK(n.status());
      acked += *n;
    }
  };
  std::thread s1(sender, alice_, "bob", 22), s2(sender, bob_, "alice", 11);
  std::thread a1(acker, bob_), a2(acker, alice_);
  std::thread sweeper([&] {
    while (sending) {
      clock_.Advance(7);
      auto n = mailbox_->SweepExpiredEnvelopes();
      ASSERT_OK(n.status());
      swept += *n;
    }
  });
  s1.join();
  s2.join();
  sending = false;
  a1.join();
  a2.join();
  sweeper.join();

  uint64_t queued = 0;
  for (const char* handle : {"alice", "bob"}) {
    ASSERT_OK_AND_ASSIGN(
        auto rows, raw_store_->Scan(Table::kQueues, keys::QueuePrefix(handle, 1), "", 100000));
    uint64_t bytes = 0;
    for (const KeyValue& row : rows) bytes += row.value.size();
    ASSERT_OK_AND_ASSIGN(auto meta_value,
                         raw_store_->Get(Table::kQueueMeta, keys::QueueMeta(handle, 1)));
    ASSERT_TRUE(meta_value.has_value());
    ASSERT_OK_AND_ASSIGN(records::QueueMeta meta, records::DecodeQueueMeta(*meta_value));
    EXPECT_EQ(meta.depth, rows.size()) << handle;
    EXPECT_EQ(meta.bytes, bytes) << handle;
    queued += rows.size();
  }
  EXPECT_EQ(accepted.load(), 2u * kSendsPerSender);
  EXPECT_EQ(acked + swept + queued, accepted.load())
      << "acked " << acked << ", swept " << swept << ", queued " << queued;
  EXPECT_GT(swept.load(), 0u);  // the sweep really raced the others
}

TEST_F(MailboxTest, DeviceMismatchListsMissingExtraAndStaleDevices) {
  AuthenticatedDevice bob2 = AddDevice(bob_, 222);
  AddDevice(bob_, 333);  // device 3
  // Device 1 stale, device 2 right, device 3 missing, device 9 extra.
  auto result = mailbox_->Send(alice_, "bob", MessageId(1),
                               {To(1, 999, "a"), To(2, 222, "b"), To(9, 1, "c")});
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bob")));
  std::optional<DeviceMismatch> m = GetDeviceMismatch(result.status());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->user, "bob");
  EXPECT_THAT(m->missing_devices, ElementsAre(3u));
  EXPECT_THAT(m->extra_devices, ElementsAre(9u));
  EXPECT_THAT(m->stale_devices, ElementsAre(1u));
  // Nothing was queued, and a corrected retry with the same id goes through.
  EXPECT_THAT(Queue(bob2), ElementsAre());
  ASSERT_OK_AND_ASSIGN(SendResult ok,
                       mailbox_->Send(alice_, "bob", MessageId(1),
                                      {To(1, 22, "a"), To(2, 222, "b"), To(3, 333, "c")}));
  EXPECT_FALSE(ok.duplicate);
  EXPECT_THAT(Queue(bob2), ElementsAre("1:b"));
}

TEST_F(MailboxTest, MalformedSendsAreInvalidArgument) {
  auto send = [&](std::string id, std::vector<OutgoingEnvelope> envs) {
    return mailbox_->Send(alice_, "bob", id, envs);
  };
  EXPECT_THAT(send("short", {To(1, 22, "x")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("message_id")));
  EXPECT_THAT(send(MessageId(1), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("envelopes")));
  EXPECT_THAT(send(MessageId(1), {To(1, 22, "")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(send(MessageId(1), {To(1, 22, std::string(kMaxCiphertextBytes + 1, 'x'))}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65536")));
  EXPECT_THAT(send(MessageId(1), {OutgoingEnvelope{1, 22, 1, "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type")));
  EXPECT_THAT(send(MessageId(1), {To(1, 22, "x"), To(1, 22, "y")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(mailbox_->Send(alice_, "nobody", MessageId(1), {To(1, 22, "x")}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
  EXPECT_OK(send(MessageId(1), {To(1, 22, std::string(kMaxCiphertextBytes, 'x'))}).status());
}

TEST_F(MailboxTest, SequenceNumbersKeepRisingAcrossAcksAndReopen) {
  ASSERT_OK(SendText(1, "a").status());
  ASSERT_OK(SendText(2, "b").status());
  ASSERT_OK(mailbox_->Ack(bob_, {1, 2}).status());
  Open();
  ASSERT_OK(SendText(3, "c").status());
  EXPECT_THAT(Queue(bob_), ElementsAre("3:c"));
  // Idempotency records survive the reopen too.
  ASSERT_OK_AND_ASSIGN(SendResult again, SendText(1, "a"));
  EXPECT_TRUE(again.duplicate);
}

// A restart (with the server's seq floor) moves every queue past any seq
// handed out before it, so an Ack of a seq seen before a crash that lost its
// write can never delete a newer envelope.
TEST_F(MailboxTest, ASeqFloorAfterARestartIsNeverBelowAnEarlierSeq) {
  MailboxOptions first;
  first.seq_floor = 1000;
  Open(first);
  ASSERT_OK(SendText(1, "a").status());
  ASSERT_OK(SendText(2, "b").status());
  EXPECT_THAT(Queue(bob_), ElementsAre("1000:a", "1001:b"));
  MailboxOptions restarted;
  restarted.seq_floor = 5000;
  Open(restarted);
  ASSERT_OK(SendText(3, "c").status());
  EXPECT_THAT(Queue(bob_), ElementsAre("1000:a", "1001:b", "5000:c"));
  // An Ack of a seq from before the restart that no longer exists (its
  // write lost) touches nothing newer.
  ASSERT_OK_AND_ASSIGN(uint32_t deleted, mailbox_->Ack(bob_, {1002}));
  EXPECT_EQ(deleted, 0u);
  // A floor below the queue's own next seq changes nothing.
  Open(first);
  ASSERT_OK(SendText(4, "d").status());
  EXPECT_THAT(Queue(bob_), ElementsAre("1000:a", "1001:b", "5000:c", "5001:d"));
}

// A deferred Send hands its envelope to the wake-up only if someone listens
// to the queue: otherwise nobody would use the copy held until the sync.
// (A listener added after the write, before the sync, hears null.)
TEST_F(MailboxTest, DeferredSendCarriesItsEnvelopeOnlyToAListenedQueue) {
  HeldDurabilityStore held(store_.get());
  Mailbox deferred(&held, accounts_.get(), &clock_);
  // What bob's listeners heard: "null", or "seq:ciphertext" of the envelope.
  std::vector<std::string> heard;
  auto listen_to_bob = [&] {
    return deferred.AddListener("bob", 1, [&](const StoredEnvelope* added) {
      heard.push_back(added == nullptr ? "null" : absl::StrCat(added->seq, ":", added->ciphertext));
    });
  };
  int acknowledged = 0;
  auto send = [&](int id, const std::string& text) {
    deferred.Send(alice_, "bob", MessageId(id), {To(1, 22, text)}, SendOptions{},
                  [&](absl::StatusOr<SendResult> sent) {
                    EXPECT_OK(sent.status());
                    ++acknowledged;
                  });
  };

  send(1, "one");
  ASSERT_EQ(held.waiting(), 1u);
  Mailbox::ListenerId late = listen_to_bob();
  held.SyncAndRelease();
  EXPECT_THAT(heard, ElementsAre("null"));
  deferred.RemoveListener(late);

  heard.clear();
  Mailbox::ListenerId other = deferred.AddListener("alice", 1, [](const StoredEnvelope*) {});
  send(2, "two");
  late = listen_to_bob();
  held.SyncAndRelease();
  EXPECT_THAT(heard, ElementsAre("null")) << "alice's listener is not bob's";

  heard.clear();
  send(3, "three");
  held.SyncAndRelease();
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], "3:three");
  EXPECT_THAT(Queue(bob_), ElementsAre("1:one", "2:two", "3:three"));
  EXPECT_EQ(acknowledged, 3);
  deferred.RemoveListener(late);
  deferred.RemoveListener(other);
}

TEST_F(MailboxTest, ListenersHearOnlyTheirOwnQueue) {
  std::atomic<int> bob_heard{0};
  std::atomic<int> alice_heard{0};
  uint64_t bob_heard_seq = 0;
  Mailbox::ListenerId b = mailbox_->AddListener("bob", 1, [&](const StoredEnvelope* added) {
    ++bob_heard;
    if (added != nullptr) bob_heard_seq = added->seq;
  });
  Mailbox::ListenerId a =
      mailbox_->AddListener("alice", 1, [&](const StoredEnvelope*) { ++alice_heard; });
  ASSERT_OK(SendText(1, "x").status());
  EXPECT_EQ(bob_heard.load(), 1);
  // The wake-up names the envelope queued, with the seq a Fetch would show.
  ASSERT_OK_AND_ASSIGN(FetchResult fetched, mailbox_->Fetch(bob_, 0, 10));
  ASSERT_EQ(fetched.envelopes.size(), 1u);
  EXPECT_EQ(bob_heard_seq, fetched.envelopes[0].seq);
  EXPECT_EQ(alice_heard.load(), 0);
  mailbox_->RemoveListener(b);
  ASSERT_OK(SendText(2, "y").status());
  EXPECT_EQ(bob_heard.load(), 1);
  mailbox_->RemoveListener(a);
}

}  // namespace
}  // namespace sotto::server
