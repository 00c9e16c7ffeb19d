#ifndef SOTTO_TESTS_SERVER_RPC_FIXTURE_H_
#define SOTTO_TESTS_SERVER_RPC_FIXTURE_H_

// The fixture of the gRPC surface tests (rpc_*_test.cc): a real in-process
// server on a loopback ephemeral port with real RocksDB in a fresh
// temporary directory, stubs for every service, and helpers that register
// users and turn results into strings so an assertion fits on one line.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/rate_limiter.h"
#include "server/rpc/messages_service.h"
#include "server/rpc/server.h"
#include "server/storage/postgres_store.h"
#include "server/storage/store.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/devices.grpc.pb.h"
#include "sotto/v1/keys.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "sotto/v1/operator.grpc.pb.h"
#include "testing/postgres_instance.h"
#include "testing/signal_test_keys.h"
#include "testing/store_switch.h"
#include "testing/tcp_proxy.h"
#include "testing/temp_dir.h"

namespace grpc {
// gtest prints statuses as "CODE: message" instead of raw bytes.
inline void PrintTo(const Status& s, std::ostream* os) {
  *os << s.error_code() << ": " << s.error_message();
}
}  // namespace grpc

namespace sotto::server::rpc {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = ::sotto::v1;

// "CODE: message" so an assertion fits on one line.
inline std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), ": ", s.error_message());
}

MATCHER_P2(GrpcIs, code, substr, "") {
  *result_listener << "status is " << Describe(arg);
  return arg.error_code() == code && arg.error_message().find(substr) != std::string::npos;
}

inline std::string MessageId(int n) {
  std::string id(kMessageIdBytes, '\0');
  id[0] = static_cast<char>(n);
  id[1] = static_cast<char>(n >> 8);
  return id;
}

struct User {
  std::string handle;
  std::string secret;  // raw 32 bytes
  uint32_t registration_id = 0;
  std::unique_ptr<sotto::testing::SignalTestKeys> keys;
  std::string Header(uint32_t device = 1) const {
    return absl::StrCat("Sotto ", handle, ".", device, ":", absl::BytesToHexString(secret));
  }
};

// Fills `keys` with `owner`'s identity key and a signed prekey with id
// `signed_prekey_id` signed by it: what every Register and Link carries.
inline void FillDeviceKeys(sotto::testing::SignalTestKeys& owner, uint32_t signed_prekey_id,
                           v1::DeviceKeys* keys) {
  keys->set_identity_key(owner.identity_key());
  auto spk = owner.MakeSignedPreKey(signed_prekey_id);
  keys->mutable_signed_prekey()->set_id(spk.id);
  keys->mutable_signed_prekey()->set_public_key(spk.public_key);
  keys->mutable_signed_prekey()->set_signature(spk.signature);
}

// Links a second device to `owner` through the relay of `devices` (a slot,
// the new device's request, a sealed response fetched, then Link with the
// owner's identity key); the new device's authorization header.
inline std::string LinkDeviceThrough(v1::Devices::Stub& devices, const User& owner,
                                     const std::string& name = "office desktop") {
  auto Ctx = [](const std::string& header) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!header.empty()) ctx->AddMetadata("authorization", header);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  };
  v1::CreateLinkSlotResponse slot;
  EXPECT_TRUE(
      devices.CreateLinkSlot(Ctx(owner.Header()).get(), v1::CreateLinkSlotRequest(), &slot).ok());
  v1::PostLinkRequestRequest post;
  post.set_slot_id(slot.slot_id());
  post.set_ephemeral_public_key(std::string(32, 'k'));
  post.set_mac(std::string(32, 'm'));
  v1::PostLinkRequestResponse posted;
  EXPECT_TRUE(devices.PostLinkRequest(Ctx("").get(), post, &posted).ok());
  v1::PutLinkResponseRequest put;
  put.set_slot_id(slot.slot_id());
  put.set_ciphertext("sealed");
  v1::PutLinkResponseResponse putted;
  EXPECT_TRUE(devices.PutLinkResponse(Ctx(owner.Header()).get(), put, &putted).ok());
  v1::FetchLinkResponseRequest fetch;
  fetch.set_slot_id(slot.slot_id());
  v1::FetchLinkResponseResponse fetched;
  EXPECT_TRUE(devices.FetchLinkResponse(Ctx("").get(), fetch, &fetched).ok());
  v1::LinkRequest link;
  link.set_link_token(slot.link_token());
  link.set_device_secret(std::string(32, 'n'));
  link.set_registration_id(222);
  link.set_name(name);
  FillDeviceKeys(*owner.keys, 7, link.mutable_keys());
  v1::LinkResponse linked;
  grpc::Status s = devices.Link(Ctx("").get(), link, &linked);
  EXPECT_TRUE(s.ok()) << Describe(s);
  return absl::StrCat("Sotto ", owner.handle, ".", linked.device_id(), ":",
                      absl::BytesToHexString(std::string(32, 'n')));
}

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    ServerOptions options;
    options.data_dir = dir_.path() + "/db";
    // SOTTO_TEST_STORE=postgres: a fresh real PostgreSQL, kept across restarts.
    if (sotto::testing::TestStoreIsPostgres()) {
      if (postgres_ == nullptr) {
        auto pg = sotto::testing::PostgresInstance::Start();
        ASSERT_TRUE(pg.ok()) << pg.status();
        postgres_ = *std::move(pg);
      }
      options.store = postgres_->url();
    }
    options.listen_address = "127.0.0.1:0";
    options.clock = server_clock_;
    options.rate_limits = rate_limits_;
    if (configure_server_) configure_server_(options);
    auto server = SottoServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    channel_ =
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args);
    accounts_ = v1::Accounts::NewStub(channel_);
    keys_ = v1::Keys::NewStub(channel_);
    messages_ = v1::Messages::NewStub(channel_);
    care_ = v1::Care::NewStub(channel_);
    queue_ = v1::Queue::NewStub(channel_);
  }

  // Restarts the server on the same data with `limits`. Its limits start
  // afresh on either store: the restart forgets RocksDB's in-memory ones,
  // and the rows that PostgreSQL's shared ones keep (Table::kLimits) are
  // deleted, as the leader's sweeper does once their window has passed.
  void RestartWith(const RateLimitOptions& limits) {
    server_.reset();
    if (postgres_ != nullptr) {
      auto db = OpenPostgresStore(postgres_->url());
      ASSERT_TRUE(db.ok()) << db.status();
      auto rows = (*db)->Scan(Table::kLimits, "", "", 1000000);
      ASSERT_TRUE(rows.ok()) << rows.status();
      WriteBatch batch;
      for (const KeyValue& row : *rows) batch.Delete(Table::kLimits, row.key);
      if (!batch.empty()) ASSERT_TRUE((*db)->Write(batch, Durability::kSynced).ok());
    }
    rate_limits_ = limits;
    StartServer();
  }

  // Restarts the server with one rate limit lifted, for a test that makes
  // far more calls of that kind than a real device would.
  void RestartLifting(BucketConfig RateLimitOptions::*limit) {
    RateLimitOptions limits = rate_limits_;
    limits.*limit = {1e6, 1e6};
    RestartWith(limits);
  }

  // "ana" and "dr-*" register as therapists with a fresh enrolment code;
  // everyone else as a client with an invite from the fixture's therapist
  // (ana once registered, else a "dr-care" registered on demand).
  static bool IsTherapist(const std::string& handle) {
    return handle == "ana" || handle.rfind("dr-", 0) == 0;
  }

  // Links client `client` to therapist `therapist` with a fresh invite.
  void Link(const User& therapist, const User& client) {
    v1::AcceptInviteRequest req;
    req.set_code(InviteFrom(therapist.Header()));
    v1::AcceptInviteResponse resp;
    grpc::Status s = care_->AcceptInvite(Ctx(client.Header()).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }

  std::string InviteFrom(const std::string& therapist_header) {
    v1::CreateInviteResponse r;
    grpc::Status s =
        care_->CreateInvite(Ctx(therapist_header).get(), v1::CreateInviteRequest(), &r);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return r.code();
  }

  v1::RegisterRequest RegisterRequestFor(User& user, size_t prekeys) {
    v1::RegisterRequest req;
    req.set_handle(user.handle);
    if (IsTherapist(user.handle)) {
      req.set_role(v1::ROLE_THERAPIST);
      auto code = server_->IssueEnrolmentCode(user.handle);
      if (code.ok()) req.set_enrolment_code(code->code);
    } else {
      req.set_role(v1::ROLE_CLIENT);
      if (therapist_header_.empty()) {
        therapist_keeper_ = std::make_unique<User>(Register("dr-care"));
      }
      req.set_invite_code(InviteFrom(therapist_header_));
    }
    req.set_device_secret(user.secret);
    req.set_registration_id(user.registration_id);
    v1::DeviceKeys* keys = req.mutable_keys();
    FillDeviceKeys(*user.keys, 1, keys);
    for (const auto& k : user.keys->MakeOneTimePreKeys(1, prekeys)) {
      v1::OneTimePreKey* otk = keys->add_one_time_prekeys();
      otk->set_id(k.id);
      otk->set_public_key(k.public_key);
    }
    return req;
  }

  User NewUser(const std::string& handle, uint32_t registration_id) {
    User u;
    u.handle = handle;
    // Hex digits with letters, so upper-casing the header changes it.
    u.secret = std::string(kDeviceSecretBytes, static_cast<char>(0xa0 | (handle[0] & 0x0f)));
    u.registration_id = registration_id;
    u.keys = std::make_unique<sotto::testing::SignalTestKeys>();
    return u;
  }

  User Register(const std::string& handle, uint32_t registration_id = 100, size_t prekeys = 2) {
    User u = NewUser(handle, registration_id);
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    grpc::Status s = accounts_->Register(&ctx, RegisterRequestFor(u, prekeys), &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(resp.device_id(), 1u);
    if (handle == "ana" || (handle == "dr-care" && therapist_header_.empty())) {
      therapist_header_ = u.Header();
    }
    return u;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& header) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!header.empty()) ctx->AddMetadata("authorization", header);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  v1::SendRequest TextTo(const User& to, int id, const std::string& text) {
    v1::SendRequest req;
    req.set_recipient(to.handle);
    req.set_message_id(MessageId(id));
    v1::OutgoingEnvelope* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(to.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
    e->set_ciphertext(text);
    return req;
  }

  // A Subscribe stream of `user`'s queue over `stub` (60 s deadline), read
  // up to its `drained` event: the queue must be empty when it opens.
  struct Stream {
    std::unique_ptr<grpc::ClientContext> ctx;  // outlives the reader
    std::unique_ptr<grpc::ClientReader<v1::SubscribeEvent>> reader;
  };
  static Stream SubscribeToEmptyQueue(v1::Messages::Stub& stub, const User& user) {
    Stream s{Ctx(user.Header()), nullptr};
    s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    s.reader = stub.Subscribe(s.ctx.get(), v1::SubscribeRequest());
    v1::SubscribeEvent event;
    EXPECT_TRUE(s.reader->Read(&event) && event.drained()) << "no drained event first";
    return s;
  }

  // "seq:ciphertext" of the next `want` envelopes on `reader`, in arrival
  // order (fewer if the stream ends first); `drained` counts the `drained`
  // events passed on the way.
  static std::vector<std::string> ReadEnvelopes(grpc::ClientReader<v1::SubscribeEvent>& reader,
                                                int want, int* drained = nullptr) {
    std::vector<std::string> got;
    v1::SubscribeEvent event;
    while (static_cast<int>(got.size()) < want && reader.Read(&event)) {
      if (event.has_envelope()) {
        got.push_back(absl::StrCat(event.envelope().seq(), ":", event.envelope().ciphertext()));
      } else if (drained != nullptr && event.drained()) {
        ++*drained;
      }
    }
    return got;
  }

  // Cancels `stream` and reads it to its end.
  static void CloseStream(Stream stream) {
    stream.ctx->TryCancel();
    v1::SubscribeEvent event;
    while (stream.reader->Read(&event)) {
    }
    (void)stream.reader->Finish();
  }

  // The server's own counters (Operator.Stats over its Unix socket).
  v1::StatsResponse OperatorStats() {
    auto op = v1::Operator::NewStub(
        grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
    v1::StatsResponse stats;
    grpc::Status s = op->Stats(Ctx("").get(), v1::StatsRequest(), &stats);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return stats;
  }

  // Waits up to 10 s for the server to count `n` open streams.
  bool AwaitOpenStreams(uint64_t n) {
    for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;
         absl::SleepFor(absl::Milliseconds(20))) {
      if (OperatorStats().subscriptions_open() == n) return true;
    }
    return false;
  }

  grpc::Status Send(const User& from, const v1::SendRequest& req,
                    v1::SendResponse* resp = nullptr) {
    v1::SendResponse ignored;
    return messages_->Send(Ctx(from.Header()).get(), req, resp ? resp : &ignored);
  }

  // "seq:ciphertext" of the caller's queue.
  std::vector<std::string> Queue(const User& user) {
    v1::FetchRequest req;
    req.set_limit(kMaxFetchBatch);
    v1::FetchResponse resp;
    grpc::Status s = messages_->Fetch(Ctx(user.Header()).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<std::string> out;
    for (const auto& e : resp.envelopes())
      out.push_back(absl::StrCat(e.seq(), ":", e.ciphertext()));
    return out;
  }

  // Every authenticated RPC, called with `header` ("" = none) and a valid
  // request; returns its status. Subscribe's is the stream's final status.
  std::map<std::string, std::function<grpc::Status(const std::string&)>> AuthenticatedRpcs(
      const User& peer) {
    std::map<std::string, std::function<grpc::Status(const std::string&)>> rpcs;
    rpcs["Accounts.WhoAmI"] = [this](const std::string& h) {
      v1::WhoAmIResponse r;
      return accounts_->WhoAmI(Ctx(h).get(), v1::WhoAmIRequest(), &r);
    };
    rpcs["Keys.Upload"] = [this](const std::string& h) {
      v1::UploadKeysResponse r;
      return keys_->Upload(Ctx(h).get(), v1::UploadKeysRequest(), &r);
    };
    rpcs["Keys.GetBundle"] = [this, &peer](const std::string& h) {
      v1::GetBundleRequest req;
      req.set_user(peer.handle);
      v1::GetBundleResponse r;
      return keys_->GetBundle(Ctx(h).get(), req, &r);
    };
    rpcs["Keys.CountPreKeys"] = [this](const std::string& h) {
      v1::CountPreKeysResponse r;
      return keys_->CountPreKeys(Ctx(h).get(), v1::CountPreKeysRequest(), &r);
    };
    rpcs["Messages.Send"] = [this, &peer](const std::string& h) {
      v1::SendResponse r;
      return messages_->Send(Ctx(h).get(), TextTo(peer, 77, "x"), &r);
    };
    rpcs["Messages.Fetch"] = [this](const std::string& h) {
      v1::FetchResponse r;
      return messages_->Fetch(Ctx(h).get(), v1::FetchRequest(), &r);
    };
    rpcs["Messages.Ack"] = [this](const std::string& h) {
      v1::AckRequest req;
      req.add_seqs(1);
      v1::AckResponse r;
      return messages_->Ack(Ctx(h).get(), req, &r);
    };
    rpcs["Messages.Subscribe"] = [this](const std::string& h) {
      auto ctx = Ctx(h);
      auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
      v1::SubscribeEvent event;
      while (reader->Read(&event)) {
        if (event.drained()) ctx->TryCancel();
      }
      return reader->Finish();
    };
    return rpcs;
  }

  sotto::testing::TempDir dir_;
  // The store under SOTTO_TEST_STORE=postgres (testing/store_switch.h); it
  // outlives server_.
  std::unique_ptr<sotto::testing::PostgresInstance> postgres_;
  // The server's clock; nullptr: the system clock.
  Clock* server_clock_ = nullptr;
  // Used by StartServer; change, then restart the server with it.
  RateLimitOptions rate_limits_;
  // Applied last to StartServer's options, if set.
  std::function<void(ServerOptions&)> configure_server_;
  std::unique_ptr<SottoServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Keys::Stub> keys_;
  std::unique_ptr<v1::Messages::Stub> messages_;
  std::unique_ptr<v1::Care::Stub> care_;
  std::unique_ptr<v1::Queue::Stub> queue_;
  // Who invites the fixture's clients.
  std::string therapist_header_;
  std::unique_ptr<User> therapist_keeper_;
};

// With a fake server clock, for send-later and limits over time.
class RpcFakeClockTest : public RpcTest {
 protected:
  void SetUp() override {
    server_clock_ = &clock_;
    RpcTest::SetUp();
  }
  // Fetches `user`'s queue and acks it; returns how many envelopes came.
  size_t Sync(const User& user) {
    std::vector<std::string> got = Queue(user);
    return got.size();
  }
  FakeClock clock_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_TESTS_SERVER_RPC_FIXTURE_H_
