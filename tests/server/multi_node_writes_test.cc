// Two sotto-server nodes on ONE real PostgreSQL (issue 17): the write-side
// guarantees that used to rest on in-process locks hold across nodes.
// Each node is a real in-process server on its own loopback port with its
// own connections, caches and locks; they share only the database and the
// key files (as production nodes do). Racing requests go through both at
// once, released together by a barrier.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "server/app/key_files.h"
#include "server/domain/audit_log.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "server/storage/postgres_store.h"
#include "testing/postgres_instance.h"
#include "testing/status_matchers.h"
#include "tests/server/multi_node_fixture.h"

namespace sotto::server::rpc {
namespace {

class MultiNodeWritesTest : public MultiNodeTest {
 protected:
  // A therapist and a client linked to it, registered through node 0.
  void RegisterPair(User& therapist, User& client) {
    ASSERT_TRUE(Register(0, RequestFor(therapist)).ok());
    ASSERT_TRUE(Register(0, RequestFor(client, Invite(0, therapist))).ok());
  }

  static v1::SendRequest TextTo(const User& to, const std::string& message_id) {
    v1::SendRequest req;
    req.set_recipient(to.handle);
    req.set_message_id(message_id);
    v1::OutgoingEnvelope* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(to.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
    e->set_ciphertext("ciphertext " + absl::BytesToHexString(message_id));
    return req;
  }

  grpc::Status Send(int node, const User& from, const v1::SendRequest& req,
                    v1::SendResponse* resp) {
    return nodes_[node].messages->Send(Ctx(from.Header()).get(), req, resp);
  }

  // Every envelope in `user`'s queue (device 1), through `node`.
  std::vector<v1::Envelope> FetchAll(int node, const User& user) {
    std::vector<v1::Envelope> all;
    uint64_t after = 0;
    while (true) {
      v1::FetchRequest req;
      req.set_after_seq(after);
      req.set_limit(kMaxFetchBatch);
      v1::FetchResponse resp;
      grpc::Status s = nodes_[node].messages->Fetch(Ctx(user.Header()).get(), req, &resp);
      EXPECT_TRUE(s.ok()) << Describe(s);
      if (!s.ok() || resp.envelopes().empty()) return all;
      for (const v1::Envelope& e : resp.envelopes()) all.push_back(e);
      after = resp.envelopes().rbegin()->seq();
      if (!resp.more()) return all;
    }
  }

  // The queue meta of user.1 as stored, read with a store of our own.
  records::QueueMeta MetaOf(const User& user) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(pg_->url());
    EXPECT_OK(store.status());
    if (!store.ok()) return {};
    absl::StatusOr<std::optional<std::string>> value =
        (*store)->Get(Table::kQueueMeta, keys::QueueMeta(user.handle, 1));
    EXPECT_OK(value.status());
    if (!value.ok() || !value->has_value()) return {};
    absl::StatusOr<records::QueueMeta> meta = records::DecodeQueueMeta(**value);
    EXPECT_OK(meta.status());
    return meta.ok() ? *meta : records::QueueMeta{};
  }

  // Checks the whole audit chain in the database under the shared key;
  // how many entries it has.
  absl::StatusOr<uint64_t> VerifyAuditChain() {
    absl::StatusOr<SecretKey> key = LoadKeyFile(dir_.sub("audit-key"), /*create=*/false);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(pg_->url());
    if (!store.ok()) return store.status();
    AuditChainVerifier verifier(&*key);
    uint64_t after = 0;
    while (true) {
      absl::StatusOr<std::vector<KeyValue>> rows = ReadAuditRaw(**store, after, 1000);
      if (!rows.ok()) return rows.status();
      if (rows->empty()) break;
      for (const KeyValue& row : *rows) {
        absl::Status added = verifier.Add(row.key, row.value);
        if (!added.ok()) return added;
      }
      after = verifier.entries();
    }
    absl::Status finished = verifier.Finish();
    if (!finished.ok()) return finished;
    return verifier.entries();
  }
};

// Senders on both nodes into one device's queue: every acknowledged message
// is queued exactly once under a seq of its own, and the depth counts them.
TEST_F(MultiNodeWritesTest, ConcurrentSendsThroughBothNodesGetDistinctSeqs) {
  User dr = NewUser("dr-send"), bob = NewUser("bob");
  ASSERT_NO_FATAL_FAILURE(RegisterPair(dr, bob));
  constexpr int kSenders = 6;
  constexpr int kEach = 30;
  absl::Barrier start(kSenders);
  std::vector<std::vector<std::string>> acked(kSenders);
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      start.Block();
      for (int n = 0; n < kEach; ++n) {
        const std::string id = MessageId(t * 1000 + n + 1);
        v1::SendResponse resp;
        // Every Send is answered, and none is lost to a race: OK, or (six
        // senders on one queue, every conditional write retried in vain)
        // UNAVAILABLE "try again", which a client does with the same id, as
        // the library's unsent queue would.
        grpc::Status s;
        for (int attempt = 0; attempt < 5; ++attempt) {
          s = Send(t % 2, dr, TextTo(bob, id), &resp);
          if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
        }
        EXPECT_TRUE(s.ok()) << "sender " << t << " message " << n << ": " << Describe(s);
        if (s.ok()) acked[t].push_back(id);
      }
    });
  }
  for (std::thread& t : senders) t.join();

  std::multiset<std::string> ids_queued;
  std::set<uint64_t> seqs;
  const std::vector<v1::Envelope> queued = FetchAll(1, bob);
  for (const v1::Envelope& e : queued) {
    ids_queued.insert(e.message_id());
    EXPECT_TRUE(seqs.insert(e.seq()).second) << "seq " << e.seq() << " given twice";
  }
  size_t total = 0;
  for (const auto& ids : acked) {
    total += ids.size();
    for (const std::string& id : ids) {
      EXPECT_EQ(ids_queued.count(id), 1u) << "message " << absl::BytesToHexString(id);
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kSenders * kEach));
  EXPECT_EQ(queued.size(), total);
  const records::QueueMeta meta = MetaOf(bob);
  EXPECT_EQ(meta.depth, total);
  EXPECT_GT(meta.next_seq, *seqs.rbegin());
}

// The same message sent through both nodes at once (a client retrying
// on another node before the first answer came): stored once, one of the
// two answers says duplicate.
TEST_F(MultiNodeWritesTest, ARetryThroughTheOtherNodeIsStoredOnce) {
  User dr = NewUser("dr-retry"), cara = NewUser("cara");
  ASSERT_NO_FATAL_FAILURE(RegisterPair(dr, cara));
  constexpr int kMessages = 25;
  for (int n = 1; n <= kMessages; ++n) {
    const v1::SendRequest req = TextTo(cara, MessageId(n));
    absl::Barrier start(2);
    v1::SendResponse resp[2];
    grpc::Status status[2];
    std::thread other([&] {
      start.Block();
      status[1] = Send(1, dr, req, &resp[1]);
    });
    start.Block();
    status[0] = Send(0, dr, req, &resp[0]);
    other.join();
    ASSERT_TRUE(status[0].ok()) << Describe(status[0]);
    ASSERT_TRUE(status[1].ok()) << Describe(status[1]);
    EXPECT_NE(resp[0].duplicate(), resp[1].duplicate()) << "message " << n;
    EXPECT_EQ(resp[0].server_time_ms(), resp[1].server_time_ms());
  }
  // And a plain retry later, through the node that did not store it.
  v1::SendResponse again;
  ASSERT_TRUE(Send(1, dr, TextTo(cara, MessageId(1)), &again).ok());
  EXPECT_TRUE(again.duplicate());

  const std::vector<v1::Envelope> queued = FetchAll(0, cara);
  ASSERT_EQ(queued.size(), static_cast<size_t>(kMessages));
  std::set<std::string> ids;
  for (const v1::Envelope& e : queued) ids.insert(e.message_id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(MetaOf(cara).depth, static_cast<uint64_t>(kMessages));
}

// One handle registered through both nodes at once: exactly one wins, the
// other is told the handle is taken; the account is the winner's.
TEST_F(MultiNodeWritesTest, ConcurrentRegistrationsOfOneHandleExactlyOneSucceeds) {
  // Each loser counts as a failed registration from 127.0.0.1, and the
  // tenth within the window is answered "too many wrong codes": nine rounds.
  constexpr int kRounds = 9;
  for (int round = 0; round < kRounds; ++round) {
    const std::string handle = absl::StrCat("dr-race", round);
    User first = NewUser(handle), second = NewUser(handle);
    second.secret = std::string(kDeviceSecretBytes, '\x5b');
    // Each with its own enrolment code for the handle, so both are valid.
    const v1::RegisterRequest req[2] = {RequestFor(first, "", 0), RequestFor(second, "", 1)};
    absl::Barrier start(2);
    grpc::Status status[2];
    std::thread other([&] {
      start.Block();
      status[1] = Register(1, req[1]);
    });
    start.Block();
    status[0] = Register(0, req[0]);
    other.join();
    ASSERT_NE(status[0].ok(), status[1].ok())
        << "round " << round << ": " << Describe(status[0]) << " / " << Describe(status[1]);
    const int winner = status[0].ok() ? 0 : 1;
    EXPECT_THAT(status[1 - winner], GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "already taken"));
    // The winner's credentials work on either node; the loser's on none.
    const User& won = winner == 0 ? first : second;
    const User& lost = winner == 0 ? second : first;
    for (int node = 0; node < 2; ++node) {
      v1::WhoAmIResponse who;
      EXPECT_TRUE(nodes_[node].accounts->WhoAmI(Ctx(won.Header()).get(), {}, &who).ok());
      EXPECT_EQ(nodes_[node].accounts->WhoAmI(Ctx(lost.Header()).get(), {}, &who).error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
    }
  }
}

// One invite accepted by two clients through both nodes at once: exactly
// one gets the link; the audit chain, appended to by both nodes all along,
// still verifies as one chain.
TEST_F(MultiNodeWritesTest, AnInviteRedeemedOnBothNodesAtOnceLinksOnceAndTheAuditChainVerifies) {
  User dr = NewUser("dr-invite"), dr_other = NewUser("dr-other");
  ASSERT_TRUE(Register(0, RequestFor(dr)).ok());
  ASSERT_TRUE(Register(1, RequestFor(dr_other, "", 1)).ok());
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    User a = NewUser(absl::StrCat("amy", round)), b = NewUser(absl::StrCat("ben", round));
    // Registered (through either node) with invites of dr-other.
    grpc::Status registered = Register(0, RequestFor(a, Invite(1, dr_other)));
    ASSERT_TRUE(registered.ok()) << Describe(registered);
    registered = Register(1, RequestFor(b, Invite(0, dr_other)));
    ASSERT_TRUE(registered.ok()) << Describe(registered);
    v1::AcceptInviteRequest req;
    req.set_code(Invite(round % 2, dr));
    absl::Barrier start(2);
    grpc::Status status[2];
    std::thread other([&] {
      start.Block();
      v1::AcceptInviteResponse resp;
      status[1] = nodes_[1].care->AcceptInvite(Ctx(b.Header()).get(), req, &resp);
    });
    start.Block();
    v1::AcceptInviteResponse resp;
    status[0] = nodes_[0].care->AcceptInvite(Ctx(a.Header()).get(), req, &resp);
    other.join();
    ASSERT_NE(status[0].ok(), status[1].ok())
        << "round " << round << ": " << Describe(status[0]) << " / " << Describe(status[1]);
    EXPECT_EQ(status[status[0].ok() ? 1 : 0].error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // dr has exactly one linked client per round.
  v1::ListLinksResponse links;
  ASSERT_TRUE(nodes_[1].care->ListLinks(Ctx(dr.Header()).get(), {}, &links).ok());
  EXPECT_EQ(links.links_size(), kRounds);

  // Every registration, invite and link above was audited by the node that
  // served it, interleaved: one chain, and it verifies.
  absl::StatusOr<uint64_t> entries = VerifyAuditChain();
  ASSERT_OK(entries.status());
  // Per round: 2 registrations (+2 invites used, +2 links), 3 invites made,
  // 1 invite redeemed and 1 link made; plus the two therapists'.
  EXPECT_GE(*entries, static_cast<uint64_t>(kRounds * 11));
}

// Audited writes racing on both nodes: the chain never forks.
TEST_F(MultiNodeWritesTest, AuditedWritesRacingOnBothNodesKeepOneVerifiableChain) {
  User dr = NewUser("dr-audit");
  ASSERT_TRUE(Register(0, RequestFor(dr)).ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  absl::Barrier start(kThreads);
  std::atomic<int> made{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.Block();
      for (int n = 0; n < kEach; ++n) {
        v1::CreateInviteResponse r;
        grpc::Status s = nodes_[t % 2].care->CreateInvite(Ctx(dr.Header()).get(), {}, &r);
        EXPECT_TRUE(s.ok()) << Describe(s);
        if (s.ok()) ++made;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(made.load(), kThreads * kEach);
  absl::StatusOr<uint64_t> entries = VerifyAuditChain();
  ASSERT_OK(entries.status());
  // The registration (3 entries: enrolment issued and used, registered)
  // and every invite, none overwritten by the other node's.
  EXPECT_EQ(*entries, static_cast<uint64_t>(3 + kThreads * kEach));
}

}  // namespace
}  // namespace sotto::server::rpc
