// Two sotto-server nodes on ONE real PostgreSQL (issue 17): what used to be
// kept per node or checked by counting a set is shared and exact. A device
// links with every step through a different node (link_slots.h, in the
// store); a history archive uploaded through one node is fetched through
// the other (history_transfers.h); the care-link cap and the one-time
// prekey cap hold when two nodes are asked at the same instant (barrier).
// Each node is a real in-process server on its own loopback port; they
// share only the database and the key files, as production nodes do.

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "server/storage/postgres_store.h"
#include "testing/postgres_instance.h"
#include "testing/status_matchers.h"
#include "tests/server/multi_node_fixture.h"

namespace sotto::server::rpc {
namespace {

constexpr size_t kLinkCap = 2;

class MultiNodeStateTest : public MultiNodeTest {
 protected:
  void Configure(ServerOptions& options) override { options.max_links_per_user = kLinkCap; }

  v1::Devices::Stub& Devices(int node) { return *nodes_[node].devices; }

  // The sending half of a race: once `go` lets it pass, `from` sends
  // through node 1 as fast as it can, up to 200 messages with ids from
  // `tag`, each with an envelope per device of `to` in `devices` (device id,
  // registration id), every `hold_every`-th held an hour (0: none), until a
  // Send is refused or `stop` is set. A refused Send's status goes to
  // `refused` (if given). The caller joins it.
  std::thread RaceSends(absl::Barrier* go, const std::atomic<bool>& stop, const User& from,
                        const std::string& to, std::vector<std::pair<uint32_t, uint32_t>> devices,
                        std::string tag, int hold_every = 0,
                        std::function<void(const grpc::Status&)> refused = {}) {
    return std::thread([=, &stop, &from] {
      if (go->Block()) delete go;
      for (int n = 0; n < 200; ++n) {
        v1::SendRequest req;
        req.set_recipient(to);
        req.set_message_id(absl::StrCat(tag, "-n", n, "-padding-16b").substr(0, 16));
        if (hold_every > 0 && n % hold_every == hold_every - 1) {
          req.set_deliver_at_ms(absl::ToUnixMillis(absl::Now()) + 3600 * 1000);
        }
        for (const auto& [device, registration_id] : devices) {
          v1::OutgoingEnvelope* e = req.add_envelopes();
          e->set_device_id(device);
          e->set_registration_id(registration_id);
          e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
          e->set_ciphertext("ciphertext");
        }
        v1::SendResponse resp;
        grpc::Status s = nodes_[1].messages->Send(Ctx(from.Header()).get(), req, &resp);
        if (!s.ok()) {
          if (refused) refused(s);
          break;
        }
        if (stop) break;
      }
    });
  }
};

TEST_F(MultiNodeStateTest, ADeviceLinksWithEveryStepThroughAnotherNode) {
  User ana = NewUser("dr-ana");
  ASSERT_TRUE(Register(0, ana).ok());
  v1::CreateLinkSlotResponse slot;
  ASSERT_TRUE(
      Devices(0).CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot).ok());

  // The new device answers through node 1; the existing one, polling
  // through node 0, sees the answer at its next poll.
  v1::GetLinkRequestRequest get;
  get.set_slot_id(slot.slot_id());
  v1::GetLinkRequestResponse pending;
  ASSERT_TRUE(Devices(0).GetLinkRequest(Ctx(ana.Header()).get(), get, &pending).ok());
  EXPECT_FALSE(pending.posted());
  v1::PostLinkRequestRequest post;
  post.set_slot_id(slot.slot_id());
  post.set_ephemeral_public_key(std::string(32, 'k'));
  post.set_mac(std::string(32, 'm'));
  v1::PostLinkRequestResponse posted;
  ASSERT_TRUE(Devices(1).PostLinkRequest(Ctx("").get(), post, &posted).ok());
  // Posting again through the other node: accepted once only.
  EXPECT_THAT(Devices(0).PostLinkRequest(Ctx("").get(), post, &posted),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "already answered"));
  v1::GetLinkRequestResponse request;
  ASSERT_TRUE(Devices(0).GetLinkRequest(Ctx(ana.Header()).get(), get, &request).ok());
  ASSERT_TRUE(request.posted());
  EXPECT_EQ(request.ephemeral_public_key(), std::string(32, 'k'));

  // The provisioning message goes up through node 1, down through node 0.
  v1::FetchLinkResponseRequest fetch;
  fetch.set_slot_id(slot.slot_id());
  v1::FetchLinkResponseResponse nothing_yet;
  ASSERT_TRUE(Devices(0).FetchLinkResponse(Ctx("").get(), fetch, &nothing_yet).ok());
  EXPECT_TRUE(nothing_yet.ciphertext().empty());
  v1::PutLinkResponseRequest put;
  put.set_slot_id(slot.slot_id());
  put.set_ciphertext("sealed provisioning");
  v1::PutLinkResponseResponse putted;
  ASSERT_TRUE(Devices(1).PutLinkResponse(Ctx(ana.Header()).get(), put, &putted).ok());
  v1::FetchLinkResponseResponse fetched;
  ASSERT_TRUE(Devices(0).FetchLinkResponse(Ctx("").get(), fetch, &fetched).ok());
  EXPECT_EQ(fetched.ciphertext(), "sealed provisioning");
  EXPECT_THAT(Devices(1).FetchLinkResponse(Ctx("").get(), fetch, &fetched),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));

  // Link through node 1; the token admits once, through either node.
  v1::LinkRequest link;
  link.set_link_token(slot.link_token());
  link.set_device_secret(std::string(32, 'n'));
  link.set_registration_id(222);
  link.set_name("office desktop");
  FillDeviceKeys(*ana.keys, 7, link.mutable_keys());
  v1::LinkResponse linked;
  grpc::Status s = Devices(1).Link(Ctx("").get(), link, &linked);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(linked.device_id(), 2u);
  EXPECT_THAT(Devices(0).Link(Ctx("").get(), link, &linked),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "link token"));
  v1::ListDevicesResponse list;
  ASSERT_TRUE(Devices(0).List(Ctx(ana.Header()).get(), v1::ListDevicesRequest(), &list).ok());
  EXPECT_EQ(list.devices_size(), 2);
}

TEST_F(MultiNodeStateTest, LinkSlotCallsAreRefusedAlikeByEveryNode) {
  User ana = NewUser("dr-ana");
  User bo = NewUser("dr-bo");
  ASSERT_TRUE(Register(0, ana).ok());
  ASSERT_TRUE(Register(1, bo).ok());
  v1::CreateLinkSlotResponse slot;
  ASSERT_TRUE(
      Devices(0).CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot).ok());
  v1::GetLinkRequestRequest get;
  get.set_slot_id(slot.slot_id());
  v1::GetLinkRequestResponse got;
  // Unauthenticated, another account's device, a malformed id: each node.
  for (int node : {0, 1}) {
    EXPECT_THAT(Devices(node).GetLinkRequest(Ctx("").get(), get, &got),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
    EXPECT_THAT(Devices(node).GetLinkRequest(Ctx(bo.Header()).get(), get, &got),
                GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));
    v1::GetLinkRequestRequest short_id;
    short_id.set_slot_id("abc");
    EXPECT_THAT(Devices(node).GetLinkRequest(Ctx(ana.Header()).get(), short_id, &got),
                GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "slot_id must be 16 bytes"));
  }
  v1::PostLinkRequestRequest post;
  post.set_slot_id(slot.slot_id());
  post.set_ephemeral_public_key(std::string(32, 'k'));
  post.set_mac(std::string(32, 'm'));
  v1::PostLinkRequestResponse posted;
  ASSERT_TRUE(Devices(1).PostLinkRequest(Ctx("").get(), post, &posted).ok());
  v1::PutLinkResponseRequest put;
  put.set_slot_id(slot.slot_id());
  put.set_ciphertext(std::string(kMaxProvisioningBytes + 1, 'c'));
  v1::PutLinkResponseResponse putted;
  EXPECT_THAT(Devices(1).PutLinkResponse(Ctx(ana.Header()).get(), put, &putted),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext must be"));
  put.set_ciphertext("sealed");
  EXPECT_THAT(Devices(1).PutLinkResponse(Ctx(bo.Header()).get(), put, &putted),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));
  // The refusals lost nothing: the request still waits for ana.
  ASSERT_TRUE(Devices(1).GetLinkRequest(Ctx(ana.Header()).get(), get, &got).ok());
  EXPECT_TRUE(got.posted());
  // An account's open codes are capped across nodes too.
  for (size_t i = 1; i < kMaxOpenLinkSlotsPerAccount; ++i) {
    ASSERT_TRUE(Devices(i % 2)
                    .CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot)
                    .ok());
  }
  EXPECT_THAT(
      Devices(1).CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot),
      GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "link codes open"));
}

TEST_F(MultiNodeStateTest, AHistoryArchiveUploadedThroughOneNodeIsFetchedThroughTheOther) {
  User ana = NewUser("dr-ana");
  User bo = NewUser("dr-bo");
  ASSERT_TRUE(Register(0, ana).ok());
  ASSERT_TRUE(Register(1, bo).ok());
  const std::string second = LinkDeviceThrough(Devices(1), ana);
  v1::CreateHistoryTransferResponse created;
  ASSERT_TRUE(Devices(0)
                  .CreateHistoryTransfer(Ctx(ana.Header()).get(),
                                         v1::CreateHistoryTransferRequest(), &created)
                  .ok());
  std::string archive(2 * kMaxHistoryChunkBytes + 4321, '\0');
  for (size_t i = 0; i < archive.size(); ++i) archive[i] = static_cast<char>((i * 131) & 0xff);
  // Chunks alternate between the nodes.
  for (size_t at = 0, n = 0; at < archive.size(); ++n) {
    v1::PutHistoryChunkRequest put;
    put.set_transfer_id(created.transfer_id());
    put.set_offset(at);
    put.set_data(archive.substr(at, kMaxHistoryChunkBytes));
    v1::PutHistoryChunkResponse resp;
    grpc::Status s = Devices(n % 2).PutHistoryChunk(Ctx(ana.Header()).get(), put, &resp);
    ASSERT_TRUE(s.ok()) << Describe(s);
    at += put.data().size();
    EXPECT_EQ(resp.received_bytes(), at);
  }
  v1::SealHistoryTransferRequest seal;
  seal.set_transfer_id(created.transfer_id());
  seal.set_total_bytes(archive.size());
  v1::SealHistoryTransferResponse sealed;
  ASSERT_TRUE(Devices(1).SealHistoryTransfer(Ctx(ana.Header()).get(), seal, &sealed).ok());

  v1::FetchHistoryChunkRequest fetch;
  fetch.set_transfer_id(created.transfer_id());
  v1::FetchHistoryChunkResponse chunk;
  // Unauthenticated, another account: refused by either node.
  EXPECT_THAT(Devices(0).FetchHistoryChunk(Ctx("").get(), fetch, &chunk),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_THAT(Devices(1).FetchHistoryChunk(Ctx(bo.Header()).get(), fetch, &chunk),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  std::string got;
  for (int n = 0;; ++n) {
    fetch.set_offset(got.size());
    grpc::Status s =
        Devices(n % 2 == 0 ? 1 : 0).FetchHistoryChunk(Ctx(second).get(), fetch, &chunk);
    ASSERT_TRUE(s.ok()) << Describe(s);
    got += chunk.data();
    if (chunk.last()) break;
    ASSERT_LT(n, 10);
  }
  EXPECT_EQ(got, archive);
  // Deleted with its last byte: gone for both nodes.
  fetch.set_offset(0);
  for (int node : {0, 1}) {
    EXPECT_THAT(Devices(node).FetchHistoryChunk(Ctx(second).get(), fetch, &chunk),
                GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  }
}

TEST_F(MultiNodeStateTest, TheCareLinkCapHoldsWhenTwoNodesLinkOneTherapistAtOnce) {
  // Each round: a therapist one link below the cap, and two clients
  // registering with its invites through the two nodes at one instant.
  // Exactly one may take the last link.
  constexpr int kRounds = 8;
  int passed_together = 0;
  for (int round = 0; round < kRounds; ++round) {
    User dr = NewUser(absl::StrCat("dr-cap", round));
    ASSERT_TRUE(Register(0, dr).ok());
    for (size_t i = 0; i + 1 < kLinkCap; ++i) {
      User c = NewUser(absl::StrCat("first", round, "-", i));
      ASSERT_TRUE(Register(0, c, Invite(0, dr)).ok());
    }
    std::vector<User> racers;
    std::vector<std::string> invites;
    for (int n = 0; n < 2; ++n) {
      racers.push_back(NewUser(absl::StrCat("racer", round, "-", n)));
      invites.push_back(Invite(n, dr));
    }
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int n = 0; n < 2; ++n) {
      threads.emplace_back([&, n] {
        if (barrier->Block()) delete barrier;
        grpc::Status s = Register(n, racers[n], invites[n]);
        if (s.ok()) {
          ++ok;
        } else {
          EXPECT_THAT(s, GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "link cap"));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (ok == 2) ++passed_together;
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    v1::ListLinksResponse links;
    ASSERT_TRUE(nodes_[round % 2].care->ListLinks(Ctx(dr.Header()).get(), {}, &links).ok());
    EXPECT_LE(static_cast<size_t>(links.links_size()), kLinkCap) << "round " << round;
  }
  EXPECT_EQ(passed_together, 0);
}

TEST_F(MultiNodeStateTest, ThePreKeyCapHoldsWhenOneDeviceUploadsThroughTwoNodesAtOnce) {
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    User dr = NewUser(absl::StrCat("dr-keys", round));
    ASSERT_TRUE(Register(round % 2, dr).ok());
    // One upload's worth below the cap.
    uint32_t next_id = 1;
    for (size_t stored = 0; stored + kMaxPreKeysPerUpload < kMaxStoredPreKeys;
         stored += kMaxPreKeysPerUpload) {
      v1::UploadKeysRequest up;
      for (const auto& k : dr.keys->MakeOneTimePreKeys(next_id, kMaxPreKeysPerUpload)) {
        v1::OneTimePreKey* otk = up.mutable_keys()->add_one_time_prekeys();
        otk->set_id(k.id);
        otk->set_public_key(k.public_key);
      }
      next_id += kMaxPreKeysPerUpload;
      v1::UploadKeysResponse resp;
      grpc::Status s = nodes_[0].keys->Upload(Ctx(dr.Header()).get(), up, &resp);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    std::vector<v1::UploadKeysRequest> uploads(2);
    for (v1::UploadKeysRequest& up : uploads) {
      for (const auto& k : dr.keys->MakeOneTimePreKeys(next_id, kMaxPreKeysPerUpload)) {
        v1::OneTimePreKey* otk = up.mutable_keys()->add_one_time_prekeys();
        otk->set_id(k.id);
        otk->set_public_key(k.public_key);
      }
      next_id += kMaxPreKeysPerUpload;
    }
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int n = 0; n < 2; ++n) {
      threads.emplace_back([&, n] {
        if (barrier->Block()) delete barrier;
        v1::UploadKeysResponse resp;
        grpc::Status s = nodes_[n].keys->Upload(Ctx(dr.Header()).get(), uploads[n], &resp);
        if (s.ok()) {
          ++ok;
        } else {
          EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "at most"));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    v1::CountPreKeysResponse count;
    ASSERT_TRUE(nodes_[1].keys->CountPreKeys(Ctx(dr.Header()).get(), {}, &count).ok());
    EXPECT_EQ(count.one_time_prekey_count(), kMaxStoredPreKeys) << "round " << round;
  }
}

TEST_F(MultiNodeStateTest, ARemovedDeviceKeepsNoQueueWhileSendsRaceThroughTheOtherNode) {
  // Each round: a client with two devices; node 0 removes device 2 while
  // node 1 sends to both devices as fast as it can. Every Send either
  // queued before the removal (and the removal deleted it) or is refused;
  // nothing stays queued for the removed device.
  constexpr int kRounds = 6;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> db, OpenPostgresStore(pg_->url()));
  for (int round = 0; round < kRounds; ++round) {
    // A therapist per round: the link cap here is kLinkCap.
    User dr = NewUser(absl::StrCat("dr-send", round));
    ASSERT_TRUE(Register(0, dr).ok());
    User cy = NewUser(absl::StrCat("cy", round));
    ASSERT_TRUE(Register(round % 2, cy, Invite(0, dr)).ok());
    LinkDeviceThrough(Devices(1), cy);
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<bool> removed{false};
    std::thread sender =
        RaceSends(barrier, removed, dr, cy.handle, {{1, cy.registration_id}, {2, 222}},
                  absl::StrCat("r", round), 0, [](const grpc::Status& s) {
                    // The device list changed under it: the sender is told which.
                    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
                        << Describe(s);
                  });
    if (barrier->Block()) delete barrier;
    v1::RemoveDeviceRequest remove;
    remove.set_device_id(2);
    v1::RemoveDeviceResponse resp;
    grpc::Status s = Devices(0).Remove(Ctx(cy.Header()).get(), remove, &resp);
    removed = true;
    sender.join();
    ASSERT_TRUE(s.ok()) << Describe(s);

    ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> queued,
                         db->Scan(Table::kQueues, keys::QueuePrefix(cy.handle, 2), "", 10));
    EXPECT_TRUE(queued.empty()) << "round " << round << ": " << queued.size() << " envelopes";
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> meta,
                         db->Get(Table::kQueueMeta, keys::QueueMeta(cy.handle, 2)));
    if (meta) {
      ASSERT_OK_AND_ASSIGN(records::QueueMeta m, records::DecodeQueueMeta(*meta));
      EXPECT_NE(m.removed_at_ms, 0) << "round " << round << ": a live meta row is left";
      EXPECT_EQ(m.depth, 0u);
    }
  }
}

TEST_F(MultiNodeStateTest, ADeletedAccountKeepsNoQueueWhileSendsRaceThroughTheOtherNode) {
  // Each round: a fresh client (its first Sends create its queue); node 0
  // deletes the account while node 1 sends to it as fast as it can. Every
  // Send either queued before the deletion (which then deletes it too) or
  // is refused; no queue, meta or held message is left for the handle.
  constexpr int kRounds = 6;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> db, OpenPostgresStore(pg_->url()));
  for (int round = 0; round < kRounds; ++round) {
    User dr = NewUser(absl::StrCat("dr-del", round));
    ASSERT_TRUE(Register(0, dr).ok());
    User cy = NewUser(absl::StrCat("cd", round));
    ASSERT_TRUE(Register(round % 2, cy, Invite(0, dr)).ok());
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<bool> deleted{false};
    std::thread sender = RaceSends(barrier, deleted, dr, cy.handle, {{1, cy.registration_id}},
                                   absl::StrCat("d", round), /*hold_every=*/4);
    if (barrier->Block()) delete barrier;
    v1::DeleteAccountRequest del;
    del.set_confirm_handle(cy.handle);
    v1::DeleteAccountResponse resp;
    // Under a flood of Sends the deletion's conditional write can lose every
    // one of its retries (UNAVAILABLE "... try again"): the person tries
    // again, as told. Known limit: a fence that refuses new Sends first
    // would let it win at once.
    grpc::Status s;
    for (int attempt = 0; attempt < 5; ++attempt) {
      s = nodes_[0].accounts->DeleteAccount(Ctx(cy.Header()).get(), del, &resp);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    }
    deleted = true;
    sender.join();
    ASSERT_TRUE(s.ok()) << Describe(s);

    for (Table t : {Table::kQueues, Table::kQueueMeta, Table::kDevices, Table::kAccounts}) {
      ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> left, db->Scan(t, cy.handle, "", 10));
      EXPECT_TRUE(left.empty()) << "round " << round << ": " << left.size() << " rows of "
                                << TableName(t);
    }
    ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> held, db->Scan(Table::kScheduled, "", "", 1000));
    for (const KeyValue& kv : held) {
      ASSERT_OK_AND_ASSIGN(records::Scheduled m, records::DecodeScheduled(kv.value));
      EXPECT_NE(m.recipient, cy.handle) << "round " << round << ": a held message is left";
    }
  }
}

TEST_F(MultiNodeStateTest, AFirstMessageRacingTheLinksEndThroughTheOtherNodeLeavesNoEntry) {
  // Each round: a fresh link; node 0 ends it (the therapist) while node 1
  // takes the client's first messages as fast as it can. A message either
  // landed before the end (whose write then deletes its queue entry) or is
  // refused; the ended link leaves no entry in the therapist's queue.
  constexpr int kRounds = 6;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> db, OpenPostgresStore(pg_->url()));
  for (int round = 0; round < kRounds; ++round) {
    User dr = NewUser(absl::StrCat("dr-end", round));
    ASSERT_TRUE(Register(0, dr).ok());
    User ce = NewUser(absl::StrCat("ce", round));
    ASSERT_TRUE(Register(round % 2, ce, Invite(0, dr)).ok());
    absl::Barrier* barrier = new absl::Barrier(2);
    std::atomic<bool> ended{false};
    std::thread sender = RaceSends(barrier, ended, ce, dr.handle, {{1, dr.registration_id}},
                                   absl::StrCat("e", round));
    if (barrier->Block()) delete barrier;
    v1::EndLinkRequest end;
    end.set_peer(ce.handle);
    v1::EndLinkResponse resp;
    grpc::Status s = nodes_[0].care->EndLink(Ctx(dr.Header()).get(), end, &resp);
    ended = true;
    sender.join();
    ASSERT_TRUE(s.ok()) << Describe(s);
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> entry,
                         db->Get(Table::kConversations, keys::Pair(dr.handle, ce.handle)));
    EXPECT_FALSE(entry.has_value()) << "round " << round << ": an entry outlived the link";
  }
}

}  // namespace
}  // namespace sotto::server::rpc
