// The gRPC surface of the server, against a real in-process server on a
// loopback ephemeral port with real RocksDB.

#include "server/rpc/server.h"

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
#include "server/domain/clock.h"
#include "server/domain/audit_log.h"
#include "server/domain/limits.h"
#include "server/rpc/messages_service.h"
#include "server/storage/store.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/operator.grpc.pb.h"
#include "sotto/v1/keys.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/temp_dir.h"
#include "testing/signal_test_keys.h"
#include "testing/tcp_proxy.h"

namespace sotto::server::rpc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = ::sotto::v1;

// "CODE: message" so an assertion fits on one line.
std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), ": ", s.error_message());
}

MATCHER_P2(GrpcIs, code, substr, "") {
  *result_listener << "status is " << Describe(arg);
  return arg.error_code() == code && arg.error_message().find(substr) != std::string::npos;
}

std::string MessageId(int n) {
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

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    ServerOptions options;
    options.data_dir = dir_.path() + "/db";
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
    channel_ = grpc::CreateCustomChannel(server_->address(),
                                         grpc::InsecureChannelCredentials(), args);
    accounts_ = v1::Accounts::NewStub(channel_);
    keys_ = v1::Keys::NewStub(channel_);
    messages_ = v1::Messages::NewStub(channel_);
    care_ = v1::Care::NewStub(channel_);
    queue_ = v1::Queue::NewStub(channel_);
  }

  // Restarts the server on the same data with `limits`.
  void RestartWith(const RateLimitOptions& limits) {
    server_.reset();
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

  std::string InviteFrom(const std::string& therapist_header) {
    v1::CreateInviteResponse r;
    grpc::Status s = care_->CreateInvite(Ctx(therapist_header).get(), v1::CreateInviteRequest(), &r);
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
    keys->set_identity_key(user.keys->identity_key());
    auto spk = user.keys->MakeSignedPreKey(1);
    keys->mutable_signed_prekey()->set_id(spk.id);
    keys->mutable_signed_prekey()->set_public_key(spk.public_key);
    keys->mutable_signed_prekey()->set_signature(spk.signature);
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

  User Register(const std::string& handle, uint32_t registration_id = 100,
                size_t prekeys = 2) {
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
    while (stream.reader->Read(&event)) {}
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
    for (const auto& e : resp.envelopes()) out.push_back(absl::StrCat(e.seq(), ":", e.ciphertext()));
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

TEST_F(RpcTest, RegisterThenWhoAmI) {
  User ana = Register("ana", 123);
  v1::WhoAmIResponse who;
  grpc::Status s = accounts_->WhoAmI(Ctx(ana.Header()).get(), v1::WhoAmIRequest(), &who);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(who.handle(), "ana");
  EXPECT_EQ(who.role(), v1::ROLE_THERAPIST);
  EXPECT_EQ(who.device_id(), 1u);
  EXPECT_THAT(who.device_ids(), ElementsAre(1u));
}

TEST_F(RpcTest, EveryAuthenticatedRpcRejectsBadCredentialsNamingTheProblem) {
  // Dozens of deliberate bad credentials from one address: lift the
  // failed-authentication limit (RpcSecurityTest covers it).
  RestartLifting(&RateLimitOptions::failed_auth);
  User ana = Register("ana");
  User bob = Register("bob");
  const std::string good_hex = absl::BytesToHexString(ana.secret);
  const std::string wrong_hex(64, 'f');
  struct Case {
    std::string header;
    std::string says;
  };
  std::vector<Case> cases = {
      {"", "missing authorization header"},
      {"Basic abc", "must start with \"Sotto \""},
      {"Sotto ana.1", "Sotto <handle>.<device>:<secret>"},
      {"Sotto ana:" + good_hex, "<handle>.<device>"},
      {"Sotto ana.x:" + good_hex, "invalid device id"},
      {"Sotto ana.+1:" + good_hex, "invalid device id"},
      {"Sotto ana.0:" + good_hex, "invalid device id"},
      {"Sotto ana.99999999999:" + good_hex, "invalid device id"},
      {"Sotto ana.1:abcd", "64 lowercase hex"},
      {"Sotto ana.1:" + std::string(64, 'Z'), "lowercase hex"},
      {"Sotto ana.1:" + absl::AsciiStrToUpper(good_hex), "lowercase hex"},
      {"Sotto ana.1:" + wrong_hex, "credentials rejected"},
      {"Sotto ana.9:" + good_hex, "credentials rejected"},
      {"Sotto nobody.1:" + good_hex, "credentials rejected"},
  };
  for (auto& [name, rpc] : AuthenticatedRpcs(bob)) {
    for (const Case& c : cases) {
      grpc::Status s = rpc(c.header);
      EXPECT_THAT(s, GrpcIs(grpc::StatusCode::UNAUTHENTICATED, c.says))
          << name << " with header \"" << c.header << "\"";
      EXPECT_EQ(s.error_message().find("nobody"), std::string::npos) << name;
    }
  }
  // And with good credentials they all work.
  for (auto& [name, rpc] : AuthenticatedRpcs(bob)) {
    EXPECT_THAT(rpc(ana.Header()), GrpcIs(name == "Messages.Subscribe"
                                              ? grpc::StatusCode::CANCELLED
                                              : grpc::StatusCode::OK,
                                          ""))
        << name;
  }
}

TEST_F(RpcTest, EveryRpcRejectsOversizedRequests) {
  User ana = Register("ana");
  const std::string big(3 << 20, 'x');
  auto oversize = [&](google::protobuf::Message& m) {
    m.GetReflection()->MutableUnknownFields(&m)->AddLengthDelimited(999, big);
  };
  std::vector<std::pair<std::string, grpc::Status>> results;
  {
    v1::RegisterRequest req = RegisterRequestFor(ana, 0);
    req.set_handle("zed");
    oversize(req);
    v1::RegisterResponse r;
    results.emplace_back("Register", accounts_->Register(Ctx("").get(), req, &r));
  }
  {
    v1::WhoAmIRequest req;
    oversize(req);
    v1::WhoAmIResponse r;
    results.emplace_back("WhoAmI", accounts_->WhoAmI(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::UploadKeysRequest req;
    oversize(req);
    v1::UploadKeysResponse r;
    results.emplace_back("Upload", keys_->Upload(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::GetBundleRequest req;
    req.set_user("ana");
    oversize(req);
    v1::GetBundleResponse r;
    results.emplace_back("GetBundle", keys_->GetBundle(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::CountPreKeysRequest req;
    oversize(req);
    v1::CountPreKeysResponse r;
    results.emplace_back("CountPreKeys",
                         keys_->CountPreKeys(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::SendRequest req = TextTo(ana, 1, std::string(kMaxCiphertextBytes, 'c'));
    for (int i = 0; i < 40; ++i) *req.add_envelopes() = req.envelopes(0);
    v1::SendResponse r;
    results.emplace_back("Send", messages_->Send(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::FetchRequest req;
    oversize(req);
    v1::FetchResponse r;
    results.emplace_back("Fetch", messages_->Fetch(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::AckRequest req;
    oversize(req);
    v1::AckResponse r;
    results.emplace_back("Ack", messages_->Ack(Ctx(ana.Header()).get(), req, &r));
  }
  {
    v1::SubscribeRequest req;
    oversize(req);
    auto ctx = Ctx(ana.Header());
    auto reader = messages_->Subscribe(ctx.get(), req);
    v1::SubscribeEvent event;
    while (reader->Read(&event)) {}
    results.emplace_back("Subscribe", reader->Finish());
  }
  for (const auto& [name, s] : results) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << name << ": " << Describe(s);
  }
  // The server is still healthy and the oversized register created nothing.
  v1::GetBundleResponse r;
  v1::GetBundleRequest req;
  req.set_user("zed");
  EXPECT_THAT(keys_->GetBundle(Ctx(ana.Header()).get(), req, &r),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "zed"));
}

TEST_F(RpcTest, EveryRpcRejectsUnparseableRequests) {
  User ana = Register("ana");
  grpc::GenericStub generic(channel_);
  const std::vector<std::string> methods = {
      "/sotto.v1.Accounts/Register",   "/sotto.v1.Accounts/WhoAmI",
      "/sotto.v1.Keys/Upload",         "/sotto.v1.Keys/GetBundle",
      "/sotto.v1.Keys/CountPreKeys",   "/sotto.v1.Messages/Send",
      "/sotto.v1.Messages/Fetch",      "/sotto.v1.Messages/Ack",
      "/sotto.v1.Messages/Subscribe"};
  // A length-delimited field whose length runs past the end: not protobuf.
  const std::string garbage("\x0a\xff\xff\xff\x0f", 5);
  for (const std::string& method : methods) {
    auto ctx = Ctx(ana.Header());
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_FALSE(status.ok()) << method;
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN) << method << Describe(status);
  }
  EXPECT_EQ(Queue(ana).size(), 0u);
}

TEST_F(RpcTest, RegisterRejectsMalformedKeysAndFields) {
  User ana = NewUser("ana", 100);
  struct Case {
    std::string name;
    std::function<void(v1::RegisterRequest&)> mutate;
    grpc::StatusCode code;
    std::string says;
  };
  std::vector<Case> cases = {
      {"bad handle", [](auto& r) { r.set_handle("A!"); }, grpc::StatusCode::INVALID_ARGUMENT,
       "handle"},
      {"no role", [](auto& r) { r.set_role(v1::ROLE_UNSPECIFIED); },
       grpc::StatusCode::INVALID_ARGUMENT, "role"},
      {"short secret", [](auto& r) { r.set_device_secret("x"); },
       grpc::StatusCode::INVALID_ARGUMENT, "device_secret"},
      {"registration id", [](auto& r) { r.set_registration_id(0); },
       grpc::StatusCode::INVALID_ARGUMENT, "registration_id"},
      {"identity 34 bytes",
       [](auto& r) { r.mutable_keys()->mutable_identity_key()->push_back('x'); },
       grpc::StatusCode::INVALID_ARGUMENT, "keys.identity_key must be 33 bytes"},
      {"identity type byte",
       [](auto& r) { (*r.mutable_keys()->mutable_identity_key())[0] = 0x04; },
       grpc::StatusCode::INVALID_ARGUMENT, "type byte"},
      {"signed prekey wrong length",
       [](auto& r) { r.mutable_keys()->mutable_signed_prekey()->set_public_key("abc"); },
       grpc::StatusCode::INVALID_ARGUMENT, "signed_prekey.public_key"},
      {"bad signature",
       [](auto& r) {
         (*r.mutable_keys()->mutable_signed_prekey()->mutable_signature())[0] ^= 1;
       },
       grpc::StatusCode::INVALID_ARGUMENT, "signed prekey signature does not verify"},
      {"missing signed prekey", [](auto& r) { r.mutable_keys()->clear_signed_prekey(); },
       grpc::StatusCode::INVALID_ARGUMENT, "signed_prekey is required"},
  };
  for (const Case& c : cases) {
    v1::RegisterRequest req = RegisterRequestFor(ana, 1);
    c.mutate(req);
    v1::RegisterResponse r;
    EXPECT_THAT(accounts_->Register(Ctx("").get(), req, &r), GrpcIs(c.code, c.says)) << c.name;
  }
  v1::RegisterRequest too_many = RegisterRequestFor(ana, kMaxPreKeysPerUpload + 1);
  v1::RegisterResponse r;
  EXPECT_THAT(accounts_->Register(Ctx("").get(), too_many, &r),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "too many one_time_prekeys"));
  // None of that created the account; a valid request still can.
  EXPECT_TRUE(accounts_->Register(Ctx("").get(), RegisterRequestFor(ana, 1), &r).ok());
  // A taken handle is ALREADY_EXISTS even with a valid invite (which is not
  // consumed).
  User bob = NewUser("bob", 5);
  EXPECT_TRUE(accounts_->Register(Ctx("").get(), RegisterRequestFor(bob, 1), &r).ok());
  EXPECT_THAT(accounts_->Register(Ctx("").get(), RegisterRequestFor(bob, 1), &r),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "bob"));
}

TEST_F(RpcTest, UploadRejectsMalformedKeysAndCountsWhatIsStored) {
  User ana = Register("ana", 100, /*prekeys=*/2);
  auto upload = [&](const v1::UploadKeysRequest& req) {
    v1::UploadKeysResponse r;
    return keys_->Upload(Ctx(ana.Header()).get(), req, &r);
  };
  v1::UploadKeysRequest wrong_length;
  auto* k = wrong_length.mutable_keys()->add_one_time_prekeys();
  k->set_id(50);
  k->set_public_key(std::string(32, '\x05'));
  EXPECT_THAT(upload(wrong_length), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "33 bytes"));
  k->set_public_key("\x07" + ana.keys->MakePublicKey().substr(1));
  EXPECT_THAT(upload(wrong_length), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "type byte"));

  v1::UploadKeysRequest other_identity;
  sotto::testing::SignalTestKeys stranger;
  other_identity.mutable_keys()->set_identity_key(stranger.identity_key());
  EXPECT_THAT(upload(other_identity),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "registered identity key"));

  v1::UploadKeysRequest forged;
  auto spk = stranger.MakeSignedPreKey(5);
  forged.mutable_keys()->mutable_signed_prekey()->set_id(spk.id);
  forged.mutable_keys()->mutable_signed_prekey()->set_public_key(spk.public_key);
  forged.mutable_keys()->mutable_signed_prekey()->set_signature(spk.signature);
  EXPECT_THAT(upload(forged), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT,
                                     "signed prekey signature does not verify"));

  v1::UploadKeysRequest too_many;
  for (const auto& p : ana.keys->MakeOneTimePreKeys(10, kMaxPreKeysPerUpload + 1)) {
    auto* o = too_many.mutable_keys()->add_one_time_prekeys();
    o->set_id(p.id);
    o->set_public_key(p.public_key);
  }
  EXPECT_THAT(upload(too_many), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "too many"));

  too_many.mutable_keys()->mutable_one_time_prekeys()->RemoveLast();
  v1::UploadKeysResponse resp;
  ASSERT_TRUE(keys_->Upload(Ctx(ana.Header()).get(), too_many, &resp).ok());
  EXPECT_EQ(resp.one_time_prekey_count(), 102u);
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(ana.Header()).get(), {}, &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 102u);
  EXPECT_EQ(count.signed_prekey_id(), 1u);
}

TEST_F(RpcTest, GetBundleHandsOutEachPreKeyOnceThenSignedPreKeyOnly) {
  User ana = Register("ana");
  User bob = Register("bob", 321, /*prekeys=*/1);
  v1::GetBundleRequest req;
  req.set_user("bob");
  v1::GetBundleResponse first, second;
  ASSERT_TRUE(keys_->GetBundle(Ctx(ana.Header()).get(), req, &first).ok());
  ASSERT_EQ(first.devices_size(), 1);
  EXPECT_EQ(first.user(), "bob");
  EXPECT_EQ(first.devices(0).registration_id(), 321u);
  EXPECT_EQ(first.devices(0).identity_key(), bob.keys->identity_key());
  EXPECT_TRUE(first.devices(0).has_one_time_prekey());
  ASSERT_TRUE(keys_->GetBundle(Ctx(ana.Header()).get(), req, &second).ok());
  EXPECT_FALSE(second.devices(0).has_one_time_prekey());
  EXPECT_EQ(second.devices(0).signed_prekey().public_key(),
            first.devices(0).signed_prekey().public_key());

  req.set_user("nobody");
  EXPECT_THAT(keys_->GetBundle(Ctx(ana.Header()).get(), req, &second),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "nobody"));
  req.set_user("");
  EXPECT_THAT(keys_->GetBundle(Ctx(ana.Header()).get(), req, &second),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "handle"));
}

TEST_F(RpcTest, SendFetchAckRoundTripStampsTheAuthenticatedSender) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::SendResponse sent;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "hello"), &sent).ok());
  EXPECT_FALSE(sent.duplicate());
  EXPECT_GT(sent.server_time_ms(), 0);

  v1::FetchResponse fetched;
  ASSERT_TRUE(messages_->Fetch(Ctx(bob.Header()).get(), {}, &fetched).ok());
  ASSERT_EQ(fetched.envelopes_size(), 1);
  const v1::Envelope& e = fetched.envelopes(0);
  EXPECT_EQ(e.sender(), "ana");
  EXPECT_EQ(e.sender_device(), 1u);
  EXPECT_EQ(e.ciphertext(), "hello");
  EXPECT_EQ(e.message_id(), MessageId(1));
  EXPECT_EQ(e.server_time_ms(), sent.server_time_ms());
  EXPECT_FALSE(fetched.more());

  v1::SendResponse again;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "hello"), &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.server_time_ms(), sent.server_time_ms());

  v1::AckRequest ack;
  ack.add_seqs(e.seq());
  v1::AckResponse acked;
  ASSERT_TRUE(messages_->Ack(Ctx(bob.Header()).get(), ack, &acked).ok());
  EXPECT_EQ(acked.deleted(), 1u);
  EXPECT_THAT(Queue(bob), ElementsAre());
}

TEST_F(RpcTest, NoUserCanReadOrDeleteAnotherUsersQueue) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  User eve = Register("eve", 333);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "for bob")).ok());
  // Eve's Fetch shows only her (empty) queue; her Ack of bob's seq deletes
  // nothing.
  EXPECT_THAT(Queue(eve), ElementsAre());
  v1::AckRequest ack;
  ack.add_seqs(1);
  v1::AckResponse acked;
  ASSERT_TRUE(messages_->Ack(Ctx(eve.Header()).get(), ack, &acked).ok());
  EXPECT_EQ(acked.deleted(), 0u);
  // Bob's other (unregistered) device id is not a way in either.
  EXPECT_THAT(messages_->Ack(Ctx(bob.Header(2)).get(), ack, &acked),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "credentials rejected"));
  // Uploads change only the caller's own device.
  v1::UploadKeysRequest upload;
  for (const auto& p : eve.keys->MakeOneTimePreKeys(50, 3)) {
    auto* o = upload.mutable_keys()->add_one_time_prekeys();
    o->set_id(p.id);
    o->set_public_key(p.public_key);
  }
  v1::UploadKeysResponse uploaded;
  ASSERT_TRUE(keys_->Upload(Ctx(eve.Header()).get(), upload, &uploaded).ok());
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(bob.Header()).get(), {}, &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 2u);
  EXPECT_THAT(Queue(bob), ElementsAre("1:for bob"));
}

TEST_F(RpcTest, MalformedSendsNameTheProblemAndLoseNothing) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "kept")).ok());

  v1::SendRequest empty = TextTo(bob, 2, "");
  EXPECT_THAT(Send(ana, empty), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext is empty"));
  v1::SendRequest oversized = TextTo(bob, 3, std::string(kMaxCiphertextBytes + 1, 'x'));
  EXPECT_THAT(Send(ana, oversized), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "65536"));
  v1::SendRequest bad_id = TextTo(bob, 4, "x");
  bad_id.set_message_id("short");
  EXPECT_THAT(Send(ana, bad_id), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "message_id"));
  v1::SendRequest bad_type = TextTo(bob, 5, "x");
  bad_type.mutable_envelopes(0)->set_type(v1::ENVELOPE_TYPE_UNSPECIFIED);
  EXPECT_THAT(Send(ana, bad_type), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "type"));
  v1::SendRequest no_envelopes = TextTo(bob, 6, "x");
  no_envelopes.clear_envelopes();
  EXPECT_THAT(Send(ana, no_envelopes), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "envelopes"));
  v1::SendRequest nobody = TextTo(bob, 7, "x");
  nobody.set_recipient("nobody");
  EXPECT_THAT(Send(ana, nobody), GrpcIs(grpc::StatusCode::NOT_FOUND, "nobody"));

  v1::FetchRequest big_fetch;
  big_fetch.set_limit(kMaxFetchBatch + 1);
  v1::FetchResponse fetched;
  EXPECT_THAT(messages_->Fetch(Ctx(bob.Header()).get(), big_fetch, &fetched),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "limit"));
  v1::AckRequest big_ack;
  for (uint64_t i = 1; i <= kMaxAckBatch + 1; ++i) big_ack.add_seqs(i);
  v1::AckResponse acked;
  EXPECT_THAT(messages_->Ack(Ctx(bob.Header()).get(), big_ack, &acked),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "seqs"));

  EXPECT_THAT(Queue(bob), ElementsAre("1:kept"));
}

TEST_F(RpcTest, DeviceMismatchDetailsAreInTheStatus) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::SendRequest req = TextTo(bob, 1, "x");
  req.mutable_envelopes(0)->set_registration_id(999);  // stale device 1
  v1::OutgoingEnvelope* extra = req.add_envelopes();
  *extra = req.envelopes(0);
  extra->set_device_id(5);  // bob has no device 5
  grpc::Status s = Send(ana, req);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_THAT(s.error_message(), HasSubstr("bob"));

  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(s.error_details()));
  EXPECT_EQ(rich.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(rich.message(), s.error_message());
  ASSERT_EQ(rich.details_size(), 1);
  EXPECT_EQ(rich.details(0).type_url(), "type.googleapis.com/sotto.v1.DeviceMismatch");
  v1::DeviceMismatch mismatch;
  ASSERT_TRUE(rich.details(0).UnpackTo(&mismatch));
  EXPECT_EQ(mismatch.user(), "bob");
  EXPECT_THAT(mismatch.missing_devices(), ElementsAre());
  EXPECT_THAT(mismatch.extra_devices(), ElementsAre(5u));
  EXPECT_THAT(mismatch.stale_devices(), ElementsAre(1u));

  v1::SendRequest wrong_device = TextTo(bob, 2, "x");
  wrong_device.mutable_envelopes(0)->set_device_id(2);
  s = Send(ana, wrong_device);
  ASSERT_TRUE(rich.ParseFromString(s.error_details()));
  ASSERT_TRUE(rich.details(0).UnpackTo(&mismatch));
  EXPECT_THAT(mismatch.missing_devices(), ElementsAre(1u));
  EXPECT_THAT(mismatch.extra_devices(), ElementsAre(2u));
  EXPECT_THAT(Queue(bob), ElementsAre());
}

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
  while (reader->Read(&event)) {}
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
  while (reader->Read(&event)) {}
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
    absl::SleepFor(absl::Milliseconds(5));
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
  while (early.reader->Read(&event)) {}
  while (late->Read(&event)) {}
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
  auto bob_messages = v1::Messages::NewStub(grpc::CreateCustomChannel(
      server_->address(), grpc::InsecureChannelCredentials(), args));
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
  while (stream.reader->Read(&event)) {}
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
    EXPECT_THAT(ReadEnvelopes(*bobs[i].reader, 1), ElementsAre(::testing::EndsWith(":to every open stream")))
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
        while (reader->Read(&event)) {}
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
  absl::SleepFor(absl::Seconds(3));  // ten keepalive periods, all answered
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
    return grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(),
                                     args);
  };
  std::shared_ptr<grpc::Channel> idle = own_connection();
  v1::WhoAmIResponse who;
  ASSERT_TRUE(v1::Accounts::NewStub(idle)->WhoAmI(Ctx(bob.Header()).get(), {}, &who).ok());
  ASSERT_EQ(idle->GetState(false), GRPC_CHANNEL_READY);
  std::shared_ptr<grpc::Channel> streaming = own_connection();
  auto streaming_messages = v1::Messages::NewStub(streaming);
  Stream stream = SubscribeToEmptyQueue(*streaming_messages, bob);

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
    while (reader->Read(&event)) {}
    EXPECT_FALSE(reader->Finish().ok());
  }
}

TEST_F(RpcTest, DataSurvivesAServerRestart) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "persisted")).ok());
  server_.reset();
  StartServer();
  EXPECT_THAT(Queue(bob), ElementsAre("1:persisted"));
  v1::SendResponse again;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "persisted"), &again).ok());
  EXPECT_TRUE(again.duplicate());
}

}  // namespace
}  // namespace sotto::server::rpc

namespace grpc {
// gtest prints statuses as "CODE: message" instead of raw bytes.
inline void PrintTo(const Status& s, std::ostream* os) {
  *os << s.error_code() << ": " << s.error_message();
}
}  // namespace grpc

namespace sotto::server::rpc {
namespace {

TEST_F(RpcTest, OperatorIsUnimplementedOnTcpAndServedOnTheSocket) {
  v1::EnrolTherapistRequest req;
  req.set_handle("dr-new");
  v1::EnrolTherapistResponse resp;
  auto tcp = v1::Operator::NewStub(channel_);
  EXPECT_THAT(tcp->EnrolTherapist(Ctx("").get(), req, &resp),
              GrpcIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  ASSERT_FALSE(server_->operator_address().empty());
  auto unix_stub = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  grpc::Status s = unix_stub->EnrolTherapist(Ctx("").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(resp.code().size(), 14u);
  // The counters too: only on the socket, even with a device's credentials.
  User ana = Register("ana");
  v1::StatsResponse stats;
  EXPECT_THAT(tcp->Stats(Ctx(ana.Header()).get(), v1::StatsRequest(), &stats),
              GrpcIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  ASSERT_TRUE(unix_stub->Stats(Ctx("").get(), v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.sends_failed_by_code_size(), 17);
}

TEST_F(RpcTest, NewRpcsNeedAuthAndTheRightRole) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::CreateInviteResponse invite;
  EXPECT_THAT(care_->CreateInvite(Ctx("").get(), v1::CreateInviteRequest(), &invite),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_THAT(care_->CreateInvite(Ctx(bob.Header()).get(), v1::CreateInviteRequest(), &invite),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "therapist"));
  v1::ListQueueResponse list;
  EXPECT_THAT(queue_->List(Ctx(bob.Header()).get(), v1::ListQueueRequest(), &list),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "therapist"));
  v1::SetPolicyRequest policy;
  v1::SetPolicyResponse set;
  EXPECT_THAT(care_->SetPolicy(Ctx(ana.Header()).get(), policy, &set),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "policy"));
  v1::CancelScheduledRequest cancel;
  v1::CancelScheduledResponse cancelled;
  EXPECT_THAT(messages_->CancelScheduled(Ctx(bob.Header()).get(), cancel, &cancelled),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "message_id"));
  v1::GetBundleRequest bundle;
  bundle.set_user("nobody");
  v1::GetBundleResponse got;
  EXPECT_THAT(keys_->GetBundle(Ctx(bob.Header()).get(), bundle, &got),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "no care link"));
}

}  // namespace
}  // namespace sotto::server::rpc

namespace sotto::server::rpc {
namespace {

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

TEST_F(RpcFakeClockTest, SendLaterIsNotReleasedAfterTheLinkEnded) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  User cid = Register("cid", 333);
  const int64_t at = clock_.NowMillis() + 3600 * 1000;
  v1::SendRequest later = TextTo(ana, 1, "written before the end");
  later.set_deliver_at_ms(at);
  v1::SendResponse sent;
  ASSERT_TRUE(Send(bob, later, &sent).ok());
  EXPECT_EQ(sent.deliver_at_ms(), at);
  v1::SendRequest later2 = TextTo(ana, 2, "also before the end");
  later2.set_deliver_at_ms(at);
  ASSERT_TRUE(Send(cid, later2, &sent).ok());
  // bob ends the link himself; ana ends hers with cid.
  v1::EndLinkRequest end;
  v1::EndLinkResponse ended;
  end.set_peer("ana");
  ASSERT_TRUE(care_->EndLink(Ctx(bob.Header()).get(), end, &ended).ok());
  end.set_peer("cid");
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  // bob comes back with a new invite before the release.
  v1::AcceptInviteRequest accept;
  accept.set_code(InviteFrom(ana.Header()));
  v1::AcceptInviteResponse accepted;
  ASSERT_TRUE(care_->AcceptInvite(Ctx(bob.Header()).get(), accept, &accepted).ok());

  clock_.Set(at + 1);
  server_->WakeReleaser();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_THAT(Queue(ana), ElementsAre());
  v1::ListQueueRequest all;
  all.set_include_all(true);
  v1::ListQueueResponse list;
  ASSERT_TRUE(queue_->List(Ctx(ana.Header()).get(), all, &list).ok());
  EXPECT_EQ(list.entries_size(), 0);
  // Gone, not merely late.
  v1::CancelScheduledRequest cancel;
  cancel.set_message_id(MessageId(1));
  v1::CancelScheduledResponse cancelled;
  EXPECT_THAT(messages_->CancelScheduled(Ctx(bob.Header()).get(), cancel, &cancelled),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no scheduled message"));
}

TEST_F(RpcFakeClockTest, WrongInviteCodesAreLimitedPerAccountAndAddress) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  const std::string good = InviteFrom(ana.Header());
  v1::AcceptInviteRequest wrong;
  wrong.set_code("2222-2222-2222");
  v1::AcceptInviteResponse r;
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), wrong, &r),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"))
        << i;
  }
  // Now even the right code is refused: guessing has stopped paying.
  v1::AcceptInviteRequest right;
  right.set_code(good);
  EXPECT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), right, &r),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "too many wrong codes; retry after 600 s"));
  // Registration from the same address is limited too.
  User eve = NewUser("eve", 555);
  v1::RegisterRequest reg = RegisterRequestFor(eve, 0);
  v1::RegisterResponse registered;
  EXPECT_THAT(accounts_->Register(Ctx("").get(), reg, &registered),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes"));
  clock_.Advance(kCodeFailureWindowMs);
  ASSERT_TRUE(accounts_->Register(Ctx("").get(), reg, &registered).ok());
  // An ALREADY_EXISTS (already linked) is not a wrong code.
  EXPECT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), right, &r),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "already linked"));
}

TEST_F(RpcFakeClockTest, WrongEnrolmentCodesAreLimited) {
  auto code = server_->IssueEnrolmentCode("dr-lee");
  ASSERT_TRUE(code.ok()) << code.status();
  User lee = NewUser("dr-lee", 444);
  v1::RegisterRequest req = RegisterRequestFor(lee, 0);
  v1::RegisterResponse resp;
  req.set_enrolment_code("2222-2222-2222");
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(accounts_->Register(Ctx("").get(), req, &resp),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "enrolment code is not valid"))
        << i;
  }
  req.set_enrolment_code(code->code);
  EXPECT_THAT(accounts_->Register(Ctx("").get(), req, &resp),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after"));
  clock_.Advance(kCodeFailureWindowMs);
  EXPECT_TRUE(accounts_->Register(Ctx("").get(), req, &resp).ok());
}

TEST_F(RpcTest, EveryNewRpcChecksAuthRoleAndInputNamingTheProblem) {
  // Dozens of deliberate bad credentials from one address: lift the
  // failed-authentication limit (RpcSecurityTest covers it).
  RestartLifting(&RateLimitOptions::failed_auth);
  User ana = Register("ana");
  User bob = Register("bob", 222);
  using Call = std::function<grpc::Status(const std::string& header)>;
  struct Case {
    std::string name;
    Call call;
    std::string wrong_role_header;  // empty: any role may call
    std::string wrong_role_text;
  };
  std::vector<Case> cases = {
      {"Care.CreateInvite",
       [&](const std::string& h) {
         v1::CreateInviteResponse r;
         return care_->CreateInvite(Ctx(h).get(), v1::CreateInviteRequest(), &r);
       },
       bob.Header(), "only a therapist"},
      {"Care.AcceptInvite",
       [&](const std::string& h) {
         v1::AcceptInviteRequest req;
         req.set_code("2222-2222-2223");
         v1::AcceptInviteResponse r;
         return care_->AcceptInvite(Ctx(h).get(), req, &r);
       },
       ana.Header(), "only a client"},
      {"Care.ListLinks",
       [&](const std::string& h) {
         v1::ListLinksResponse r;
         return care_->ListLinks(Ctx(h).get(), v1::ListLinksRequest(), &r);
       },
       "", ""},
      {"Care.EndLink",
       [&](const std::string& h) {
         v1::EndLinkRequest req;
         req.set_peer("nobody");
         v1::EndLinkResponse r;
         return care_->EndLink(Ctx(h).get(), req, &r);
       },
       "", ""},
      {"Care.SetPolicy",
       [&](const std::string& h) {
         v1::SetPolicyRequest req;
         req.mutable_policy()->set_time_zone("UTC");
         req.mutable_policy()->add_working_days(1);
         req.mutable_policy()->set_day_end_minute(600);
         req.mutable_policy()->set_reply_window_minutes(60);
         v1::SetPolicyResponse r;
         return care_->SetPolicy(Ctx(h).get(), req, &r);
       },
       bob.Header(), "only a therapist"},
      {"Care.GetPolicy",
       [&](const std::string& h) {
         v1::GetPolicyRequest req;
         req.set_therapist("ana");
         v1::GetPolicyResponse r;
         return care_->GetPolicy(Ctx(h).get(), req, &r);
       },
       "", ""},
      {"Queue.List",
       [&](const std::string& h) {
         v1::ListQueueResponse r;
         return queue_->List(Ctx(h).get(), v1::ListQueueRequest(), &r);
       },
       bob.Header(), "therapist"},
      {"Queue.Snooze",
       [&](const std::string& h) {
         v1::SnoozeRequest req;
         req.set_client("bob");
         req.set_until_ms(absl::ToUnixMillis(absl::Now()) + 3600 * 1000);
         v1::QueueEntry r;
         return queue_->Snooze(Ctx(h).get(), req, &r);
       },
       bob.Header(), "therapist"},
      {"Queue.Close",
       [&](const std::string& h) {
         v1::CloseRequest req;
         req.set_client("bob");
         v1::QueueEntry r;
         return queue_->Close(Ctx(h).get(), req, &r);
       },
       bob.Header(), "therapist"},
      {"Queue.Claim",
       [&](const std::string& h) {
         v1::ClaimRequest req;
         req.set_client("bob");
         v1::QueueEntry r;
         return queue_->Claim(Ctx(h).get(), req, &r);
       },
       bob.Header(), "therapist"},
      {"Messages.CancelScheduled",
       [&](const std::string& h) {
         v1::CancelScheduledRequest req;
         req.set_message_id(MessageId(9));
         v1::CancelScheduledResponse r;
         return messages_->CancelScheduled(Ctx(h).get(), req, &r);
       },
       "", ""},
  };
  User bob_wrong = NewUser("bob", 222);
  bob_wrong.secret[0] ^= 1;
  for (const Case& c : cases) {
    EXPECT_THAT(c.call(""), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "missing authorization"))
        << c.name;
    EXPECT_THAT(c.call(bob_wrong.Header()),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "credentials rejected"))
        << c.name;
    EXPECT_THAT(c.call("Sotto bob.1:zz"), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "secret"))
        << c.name;
    if (!c.wrong_role_header.empty()) {
      EXPECT_THAT(c.call(c.wrong_role_header),
                  GrpcIs(grpc::StatusCode::PERMISSION_DENIED, c.wrong_role_text))
          << c.name;
    }
  }

  // Malformed input, each by a caller of the right role.
  const int64_t now = absl::ToUnixMillis(absl::Now());
  struct Bad {
    std::string name;
    grpc::Status status;
    std::string text;
  };
  std::vector<Bad> bad;
  {
    v1::CreateInviteRequest req;
    req.set_valid_hours(kMaxCodeValidHours + 1);
    v1::CreateInviteResponse r;
    bad.push_back({"CreateInvite valid_hours", care_->CreateInvite(Ctx(ana.Header()).get(), req, &r),
                   "valid_hours"});
  }
  {
    v1::AcceptInviteRequest req;
    v1::AcceptInviteResponse r;
    bad.push_back({"AcceptInvite empty code",
                   care_->AcceptInvite(Ctx(bob.Header()).get(), req, &r), "code is required"});
  }
  for (const char* handle : {"", "Bad Handle", "x", "9lives"}) {
    v1::EndLinkRequest end;
    end.set_peer(handle);
    v1::EndLinkResponse ended;
    bad.push_back({absl::StrCat("EndLink peer '", handle, "'"),
                   care_->EndLink(Ctx(ana.Header()).get(), end, &ended), "peer"});
    v1::GetPolicyRequest get;
    get.set_therapist(handle);
    v1::GetPolicyResponse got;
    bad.push_back({absl::StrCat("GetPolicy therapist '", handle, "'"),
                   care_->GetPolicy(Ctx(bob.Header()).get(), get, &got), "therapist"});
    v1::SnoozeRequest snooze;
    snooze.set_client(handle);
    snooze.set_until_ms(now + 3600 * 1000);
    v1::QueueEntry entry;
    bad.push_back({absl::StrCat("Snooze client '", handle, "'"),
                   queue_->Snooze(Ctx(ana.Header()).get(), snooze, &entry), "client"});
    v1::CloseRequest close;
    close.set_client(handle);
    bad.push_back({absl::StrCat("Close client '", handle, "'"),
                   queue_->Close(Ctx(ana.Header()).get(), close, &entry), "client"});
    v1::ClaimRequest claim;
    claim.set_client(handle);
    bad.push_back({absl::StrCat("Claim client '", handle, "'"),
                   queue_->Claim(Ctx(ana.Header()).get(), claim, &entry), "client"});
  }
  for (int64_t until : {now - 1000, int64_t{0}, now + kMaxSnoozeAheadMs + 3600 * 1000}) {
    v1::SnoozeRequest snooze;
    snooze.set_client("bob");
    snooze.set_until_ms(until);
    v1::QueueEntry entry;
    bad.push_back({absl::StrCat("Snooze until ", until),
                   queue_->Snooze(Ctx(ana.Header()).get(), snooze, &entry), "until_ms"});
  }
  {
    v1::SetPolicyRequest req;
    v1::SetPolicyResponse r;
    bad.push_back({"SetPolicy no policy", care_->SetPolicy(Ctx(ana.Header()).get(), req, &r),
                   "policy is required"});
    v1::ResponsePolicy* p = req.mutable_policy();
    p->set_time_zone("UTC");
    p->add_working_days(1);
    p->set_day_end_minute(600);
    p->set_reply_window_minutes(60);
    p->set_day_start_minute(5000);
    bad.push_back({"SetPolicy day_start_minute",
                   care_->SetPolicy(Ctx(ana.Header()).get(), req, &r), "day_start_minute"});
    p->set_day_start_minute(0);
    p->set_time_zone("Not/AZone");
    bad.push_back({"SetPolicy time_zone", care_->SetPolicy(Ctx(ana.Header()).get(), req, &r),
                   "time_zone"});
    p->set_time_zone("UTC");
    p->add_working_days(9);
    bad.push_back({"SetPolicy working_days",
                   care_->SetPolicy(Ctx(ana.Header()).get(), req, &r), "working_days"});
  }
  for (size_t len : {size_t{0}, kMessageIdBytes - 1, kMessageIdBytes + 1}) {
    v1::CancelScheduledRequest req;
    req.set_message_id(std::string(len, 'm'));
    v1::CancelScheduledResponse r;
    bad.push_back({absl::StrCat("CancelScheduled id of ", len),
                   messages_->CancelScheduled(Ctx(bob.Header()).get(), req, &r),
                   absl::StrCat("message_id must be ", kMessageIdBytes, " bytes, got ", len)});
  }
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  for (const char* handle : {"", "Bad Handle", "x"}) {
    v1::EnrolTherapistRequest req;
    req.set_handle(handle);
    v1::EnrolTherapistResponse r;
    bad.push_back({absl::StrCat("EnrolTherapist handle '", handle, "'"),
                   op->EnrolTherapist(Ctx("").get(), req, &r), "handle"});
  }
  {
    v1::EnrolTherapistRequest req;
    req.set_handle("dr-new");
    req.set_valid_hours(kMaxCodeValidHours + 1);
    v1::EnrolTherapistResponse r;
    bad.push_back({"EnrolTherapist valid_hours", op->EnrolTherapist(Ctx("").get(), req, &r),
                   "valid_hours"});
    req.set_handle("ana");
    req.set_valid_hours(0);
    grpc::Status taken = op->EnrolTherapist(Ctx("").get(), req, &r);
    EXPECT_THAT(taken, GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "ana is already registered"));
  }
  for (const Bad& b : bad) {
    EXPECT_THAT(b.status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, b.text)) << b.name;
  }
}

}  // namespace
}  // namespace sotto::server::rpc

namespace sotto::server::rpc {
namespace {

// Rate limits, and the audit trail as the operator reads it.
class RpcSecurityTest : public RpcFakeClockTest {
 protected:
  // Every stored audit entry, read over the operator socket.
  std::vector<KeyValue> AuditRaw() {
    auto op = v1::Operator::NewStub(
        grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::ReadAuditRequest req;
    v1::ReadAuditResponse resp;
    grpc::Status s = op->ReadAudit(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<KeyValue> out;
    for (const auto& e : resp.entries()) out.push_back(KeyValue{e.key(), e.value()});
    return out;
  }

  // The audit trail as printed lines; fails the test if the chain is broken.
  std::vector<std::string> AuditLines() {
    AuditChainVerifier verifier;
    std::vector<std::string> lines;
    for (const KeyValue& row : AuditRaw()) {
      EXPECT_TRUE(verifier.Add(row.key, row.value).ok());
      auto e = DecodeAuditEntry(row.key, row.value);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) lines.push_back(FormatAuditEntry(*e));
    }
    return lines;
  }

  static bool AnyContains(const std::vector<std::string>& lines, const std::string& a,
                          const std::string& b = "") {
    for (const std::string& l : lines) {
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    }
    return false;
  }

  // Links client `client` to therapist `therapist` with a fresh invite.
  void Link(const User& therapist, const User& client) {
    v1::AcceptInviteRequest req;
    req.set_code(InviteFrom(therapist.Header()));
    v1::AcceptInviteResponse resp;
    grpc::Status s = care_->AcceptInvite(Ctx(client.Header()).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }

  // The RetryInfo detail of `s`, or -1.
  static int64_t RetryAfter(const grpc::Status& s) {
    google::rpc::Status rich;
    if (!rich.ParseFromString(s.error_details())) return -1;
    for (const auto& any : rich.details()) {
      v1::RetryInfo info;
      if (any.UnpackTo(&info)) return info.retry_after_ms();
    }
    return -1;
  }
};

TEST_F(RpcSecurityTest, RegistrationIsLimitedPerAddressAndSaysWhenToRetry) {
  RateLimitOptions limits;
  limits.registration = {3, 60};  // 3 at once, then one a minute
  RestartWith(limits);
  Register("ana");     // 1 (the enrolment code is issued in-process)
  Register("client1"); // 2
  Register("client2"); // 3
  User late = NewUser("client3", 103);
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = accounts_->Register(&ctx, RegisterRequestFor(late, 1), &resp);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after 60 s")) << Describe(s);
  EXPECT_EQ(RetryAfter(s), 60'000);
  EXPECT_TRUE(AnyContains(AuditLines(), "rate.limited", "limit=registration"));
  // A flood of refusals is one audit entry (each is a synced write), until
  // the address succeeds again.
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext again;
    EXPECT_EQ(accounts_->Register(&again, RegisterRequestFor(late, 1), &resp).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto limited_entries = [this] {
    std::vector<std::string> lines = AuditLines();
    return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.find("limit=registration") != std::string::npos;
    });
  };
  EXPECT_EQ(limited_entries(), 1);
  clock_.Advance(60'000);
  Register("client3");
  User later = NewUser("client4", 104);
  grpc::ClientContext refused;
  EXPECT_EQ(accounts_->Register(&refused, RegisterRequestFor(later, 1), &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(limited_entries(), 2);
}

TEST_F(RpcSecurityTest, FailedAuthenticationIsLimitedPerAddressAndAudited) {
  RateLimitOptions limits;
  limits.failed_auth = {3, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User wrong = NewUser("ana", 100);
  wrong.secret = std::string(kDeviceSecretBytes, '\x01');
  v1::WhoAmIResponse r;
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = accounts_->WhoAmI(Ctx(wrong.Header()).get(), v1::WhoAmIRequest(), &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);
  }
  // The address's budget is spent: even the right secret is refused, without
  // being checked, until a token comes back.
  grpc::Status s = accounts_->WhoAmI(Ctx(ana.Header()).get(), v1::WhoAmIRequest(), &r);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "failed authentications"));
  EXPECT_GT(RetryAfter(s), 0);
  clock_.Advance(60'000);
  s = accounts_->WhoAmI(Ctx(ana.Header()).get(), v1::WhoAmIRequest(), &r);
  EXPECT_TRUE(s.ok()) << Describe(s);

  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "auth.failed actor=ana.1 subject=ana source=ipv4:127.0.0.1"));
  EXPECT_TRUE(AnyContains(lines, "rate.limited", "limit=failed_auth"));
  // No secret, right or wrong, is in the trail.
  for (const KeyValue& row : AuditRaw()) {
    EXPECT_EQ(row.value.find(wrong.secret), std::string::npos);
    EXPECT_EQ(row.value.find(ana.secret), std::string::npos);
    EXPECT_EQ(row.value.find(absl::BytesToHexString(wrong.secret)), std::string::npos);
  }
}

TEST_F(RpcSecurityTest, BundleFetchesAreLimitedPerRequester) {
  RateLimitOptions limits;
  limits.bundle_per_requester = {2, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User bob = Register("bob", 101, 10);
  v1::GetBundleRequest req;
  req.set_user("bob");
  v1::GetBundleResponse resp;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(keys_->GetBundle(Ctx(ana.Header()).get(), req, &resp).ok());
  }
  grpc::Status s = keys_->GetBundle(Ctx(ana.Header()).get(), req, &resp);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after"));
  // Another requester has its own budget.
  User dr = Register("dr-two");
  Link(dr, bob);
  EXPECT_TRUE(keys_->GetBundle(Ctx(dr.Header()).get(), req, &resp).ok());
}

TEST_F(RpcSecurityTest, NobodyCanDrainAnothersOneTimePreKeys) {
  RateLimitOptions limits;
  limits.bundle_per_target = {2, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User dr = Register("dr-two");
  User bob = Register("bob", 101, 10);
  Link(dr, bob);
  v1::GetBundleRequest req;
  req.set_user("bob");
  auto fetch = [&](const User& who) {
    v1::GetBundleResponse resp;
    grpc::Status s = keys_->GetBundle(Ctx(who.Header()).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(resp.devices_size(), 1);
    return resp.devices_size() == 1 && resp.devices(0).has_one_time_prekey();
  };
  EXPECT_TRUE(fetch(ana));
  EXPECT_TRUE(fetch(ana));
  // bob's hand-out budget is spent: everyone still gets a usable bundle (the
  // signed prekey), but no more one-time prekeys leave.
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(fetch(ana));
    EXPECT_FALSE(fetch(dr));
  }
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(bob.Header()).get(), v1::CountPreKeysRequest(), &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 8u);
  clock_.Advance(30'000);  // half a token
  EXPECT_FALSE(fetch(dr));
  clock_.Advance(30'000);
  EXPECT_TRUE(fetch(dr));
}

TEST_F(RpcSecurityTest, SendsAreLimitedPerDevice) {
  RateLimitOptions limits;
  limits.sends_per_device = {2, 3600};  // one a second after the burst
  RestartWith(limits);
  User ana = Register("ana");
  User bob = Register("bob", 101);
  EXPECT_TRUE(Send(ana, TextTo(bob, 1, "a")).ok());
  EXPECT_TRUE(Send(ana, TextTo(bob, 2, "b")).ok());
  grpc::Status s = Send(ana, TextTo(bob, 3, "c"));
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many sends from this device"));
  EXPECT_EQ(RetryAfter(s), 1000);
  // bob's device has its own budget.
  EXPECT_TRUE(Send(bob, TextTo(ana, 1, "x")).ok());
  // A flood of refusals is audited at the 1st, 10th and 100th, with the
  // count: the attack's scale is kept, not one entry per refused call.
  for (int i = 0; i < 119; ++i) {
    EXPECT_EQ(Send(ana, TextTo(bob, 3, "c")).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto refusal_entries = [&] {
    std::vector<std::string> found;
    for (const std::string& line : AuditLines()) {
      if (line.find("limit=sends_per_device") != std::string::npos) {
        found.push_back(line.substr(line.find("refused=")));
      }
    }
    return found;
  };
  EXPECT_THAT(refusal_entries(), ElementsAre("refused=1", "refused=10", "refused=100"));
  clock_.Advance(1000);
  EXPECT_TRUE(Send(ana, TextTo(bob, 3, "c")).ok());
  EXPECT_THAT(Queue(bob), ElementsAre("1:a", "2:b", "3:c"));
  // A success ends the episode: the next refusal is the first of a new one.
  EXPECT_FALSE(Send(ana, TextTo(bob, 4, "d")).ok());
  EXPECT_THAT(refusal_entries(),
              ElementsAre("refused=1", "refused=10", "refused=100", "refused=1"));
}

TEST_F(RpcSecurityTest, AuditRecordsWhoDidWhatButNoCodesOrSecrets) {
  User ana = Register("ana", 100, 3);
  std::string invite = InviteFrom(ana.Header());
  User bob = NewUser("bob", 101);
  v1::RegisterRequest req = RegisterRequestFor(bob, 2);
  req.set_invite_code(invite);
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(accounts_->Register(&ctx, req, &resp).ok());
  v1::UploadKeysRequest upload;
  for (const auto& k : bob.keys->MakeOneTimePreKeys(50, 4)) {
    auto* otk = upload.mutable_keys()->add_one_time_prekeys();
    otk->set_id(k.id);
    otk->set_public_key(k.public_key);
  }
  v1::UploadKeysResponse uploaded;
  ASSERT_TRUE(keys_->Upload(Ctx(bob.Header()).get(), upload, &uploaded).ok());
  v1::EndLinkRequest end;
  end.set_peer("bob");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());

  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "enrolment.issued actor=operator subject=ana"));
  EXPECT_TRUE(AnyContains(lines, "enrolment.used actor=ana.1 subject=ana"));
  EXPECT_TRUE(AnyContains(lines, "account.registered actor=ana.1 subject=ana", "role=therapist"));
  EXPECT_TRUE(AnyContains(lines, "invite.created actor=ana.1"));
  EXPECT_TRUE(AnyContains(lines, "invite.redeemed actor=bob.1 subject=bob", "therapist=ana"));
  EXPECT_TRUE(AnyContains(lines, "link.made actor=bob.1", "therapist=ana client=bob"));
  EXPECT_TRUE(AnyContains(lines, "keys.uploaded actor=bob.1", "one_time_prekeys_added=4"));
  EXPECT_TRUE(AnyContains(lines, "link.ended actor=ana.1 subject=bob"));
  EXPECT_TRUE(AnyContains(lines, "source=ipv4:127.0.0.1"));
  std::string bare_invite = invite;
  bare_invite.erase(std::remove(bare_invite.begin(), bare_invite.end(), '-'), bare_invite.end());
  for (const KeyValue& row : AuditRaw()) {
    EXPECT_EQ(row.value.find(bare_invite), std::string::npos);
    EXPECT_EQ(row.value.find(invite), std::string::npos);
    EXPECT_EQ(row.value.find(bob.secret), std::string::npos);
  }
}

TEST_F(RpcSecurityTest, UndeliveredEnvelopesExpireAfterRetentionAcrossRestart) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  v1::SendResponse first;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "a"), &first).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "b")).ok());
  clock_.Advance(29LL * 24 * 3600 * 1000);
  ASSERT_TRUE(Send(ana, TextTo(bob, 3, "c")).ok());
  // The sweep at start-up finds nothing old enough yet.
  server_.reset();
  StartServer();
  EXPECT_THAT(Queue(bob), ElementsAre("1:a", "2:b", "3:c"));
  clock_.Advance(24LL * 3600 * 1000);  // a and b are 30 days old
  server_.reset();
  StartServer();  // sweeps at start, in the background
  std::vector<std::string> left;
  for (int i = 0; i < 200; ++i) {
    left = Queue(bob);
    if (left.size() == 1) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(left, ElementsAre("3:c"));
  // The sender is told nothing about it: a retry of the first message is
  // still the same duplicate answer as before.
  v1::SendResponse retry;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "a"), &retry).ok());
  EXPECT_EQ(retry.duplicate(), clock_.NowMillis() - first.server_time_ms() <
                                   kIdempotencyRetentionMs);
}

TEST_F(RpcSecurityTest, DeactivatedAccountCannotSignInOrReceiveUntilReactivated) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  auto act = [&](bool off, const std::string& handle) {
    grpc::ClientContext ctx;
    v1::AccountActionRequest req;
    req.set_handle(handle);
    v1::AccountActionResponse resp;
    return off ? op->DeactivateAccount(&ctx, req, &resp) : op->ReactivateAccount(&ctx, req, &resp);
  };
  ASSERT_TRUE(act(true, "bob").ok());
  EXPECT_EQ(act(true, "bob").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(act(true, "nobody").error_code(), grpc::StatusCode::NOT_FOUND);
  v1::WhoAmIResponse who;
  grpc::Status s = accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "account bob is deactivated"));
  // Without bob's secret nobody learns that bob is deactivated.
  User guess = NewUser("bob", 101);
  guess.secret = std::string(kDeviceSecretBytes, '\x02');
  s = accounts_->WhoAmI(Ctx(guess.Header()).get(), v1::WhoAmIRequest(), &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message().find("deactivated"), std::string::npos) << s.error_message();
  EXPECT_THAT(Send(ana, TextTo(bob, 1, "hi")),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "bob is deactivated"));
  ASSERT_TRUE(act(false, "bob").ok());
  EXPECT_TRUE(accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who).ok());
  EXPECT_TRUE(Send(ana, TextTo(bob, 2, "hi")).ok());
  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "account.deactivated actor=operator subject=bob"));
  EXPECT_TRUE(AnyContains(lines, "account.reactivated actor=operator subject=bob"));
}

TEST_F(RpcSecurityTest, DeleteAccountRemovesKeysQueuesAndLinksButTheAuditKeepsIt) {
  User ana = Register("ana");
  User bob = Register("bob", 101, 5);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "for bob")).ok());
  v1::DeleteAccountRequest req;
  v1::DeleteAccountResponse resp;
  req.set_confirm_handle("ana");  // not the caller
  EXPECT_EQ(accounts_->DeleteAccount(Ctx(bob.Header()).get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_confirm_handle("bob");
  grpc::Status s = accounts_->DeleteAccount(Ctx(bob.Header()).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << Describe(s);

  v1::WhoAmIResponse who;
  EXPECT_EQ(accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // ana sees the link ended by bob, and can no longer reach bob's keys.
  v1::ListLinksResponse links;
  ASSERT_TRUE(care_->ListLinks(Ctx(ana.Header()).get(), v1::ListLinksRequest(), &links).ok());
  ASSERT_EQ(links.links_size(), 1);
  EXPECT_EQ(links.links(0).state(), v1::LINK_ENDED);
  EXPECT_EQ(links.links(0).ended_by(), "bob");
  v1::GetBundleRequest breq;
  breq.set_user("bob");
  v1::GetBundleResponse bundle;
  EXPECT_FALSE(keys_->GetBundle(Ctx(ana.Header()).get(), breq, &bundle).ok());
  EXPECT_FALSE(Send(ana, TextTo(bob, 2, "x")).ok());
  // The handle is free again, and the new bob starts with nothing.
  User bob2 = Register("bob", 102, 1);
  EXPECT_THAT(Queue(bob2), ::testing::IsEmpty());
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(bob2.Header()).get(), v1::CountPreKeysRequest(), &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 1u);
  EXPECT_TRUE(AnyContains(AuditLines(), "account.deleted actor=bob.1 subject=bob"));
}

TEST_F(RpcSecurityTest, ARefusedChangeLeavesNoAuditEntry) {
  Register("ana");
  Register("bob", 101);
  size_t before = AuditRaw().size();
  // A taken handle: the registration (and the invite's redemption) is not
  // written, so neither is audited.
  User again = NewUser("bob", 102);
  v1::RegisterRequest req = RegisterRequestFor(again, 1);  // creates an invite
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(accounts_->Register(&ctx, req, &resp).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  std::vector<std::string> lines = AuditLines();
  ASSERT_EQ(lines.size(), before + 1);
  EXPECT_THAT(lines.back(), ::testing::HasSubstr("invite.created"));
}

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
  absl::SleepFor(absl::Milliseconds(150));  // the disk stalls
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
  // The syncer is held inside a log sync; the Sends wait for it.
  ASSERT_TRUE(gated_->WaitInside(1, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(200));
  // Shutdown cancels the calls after its deadline but must wait for the
  // writes in progress; they finish once released.
  std::thread stopper([&] { server_->Shutdown(absl::Milliseconds(100)); });
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
