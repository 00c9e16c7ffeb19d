#ifndef SOTTO_TESTS_SERVER_MULTI_NODE_FIXTURE_H_
#define SOTTO_TESTS_SERVER_MULTI_NODE_FIXTURE_H_

// Two sotto-server nodes on ONE real PostgreSQL (issue 17), as production
// runs them: each a real in-process server on its own loopback port with
// its own connections, caches and locks, sharing only the database and the
// key files (one audit chain, one code pepper: invite codes hash alike).
// Rate limits are lifted: the racing tests far exceed what one device
// sends. A test fixture adjusts the options of both nodes in Configure.

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "testing/postgres_instance.h"
#include "testing/status_matchers.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {

// One node: a server and a stub of each service.
struct Node {
  std::unique_ptr<SottoServer> server;
  std::unique_ptr<v1::Accounts::Stub> accounts;
  std::unique_ptr<v1::Keys::Stub> keys;
  std::unique_ptr<v1::Care::Stub> care;
  std::unique_ptr<v1::Devices::Stub> devices;
  std::unique_ptr<v1::Messages::Stub> messages;
};

class MultiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, sotto::testing::PostgresInstance::Start());
    for (int i = 0; i < 2; ++i) {
      ServerOptions options;
      options.store = pg_->url();
      options.data_dir = dir_.sub(absl::StrCat("node", i));
      options.audit_key_file = dir_.sub("audit-key");
      options.code_pepper_file = dir_.sub("code-pepper");
      options.listen_address = "127.0.0.1:0";
      options.rate_limits.registration = {1e6, 1e6};
      options.rate_limits.invites_per_therapist = {1e6, 1e6};
      options.rate_limits.link_relay = {1e6, 1e6};
      options.rate_limits.sends_per_device = {1e6, 1e6};
      Configure(options);
      ASSERT_OK_AND_ASSIGN(nodes_[i].server, SottoServer::Start(options));
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(8 << 20);  // history archive chunks
      auto channel = grpc::CreateCustomChannel(nodes_[i].server->address(),
                                               grpc::InsecureChannelCredentials(), args);
      nodes_[i].accounts = v1::Accounts::NewStub(channel);
      nodes_[i].keys = v1::Keys::NewStub(channel);
      nodes_[i].care = v1::Care::NewStub(channel);
      nodes_[i].devices = v1::Devices::NewStub(channel);
      nodes_[i].messages = v1::Messages::NewStub(channel);
    }
  }

  // Called with each node's options before it starts.
  virtual void Configure(ServerOptions& options) {}

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& header) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!header.empty()) ctx->AddMetadata("authorization", header);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  static User NewUser(const std::string& handle) {
    User u;
    u.handle = handle;
    u.secret = std::string(kDeviceSecretBytes, static_cast<char>(0xa0 | (handle[0] & 0x0f)));
    u.registration_id = 100;
    u.keys = std::make_unique<sotto::testing::SignalTestKeys>();
    return u;
  }

  // A register request for `user`: a therapist (handle "dr-*") with a fresh
  // enrolment code issued by `node`, a client with `invite`.
  v1::RegisterRequest RequestFor(const User& user, const std::string& invite = "", int node = 0) {
    v1::RegisterRequest req;
    req.set_handle(user.handle);
    if (user.handle.rfind("dr-", 0) == 0) {
      req.set_role(v1::ROLE_THERAPIST);
      absl::StatusOr<IssuedCode> code = nodes_[node].server->IssueEnrolmentCode(user.handle);
      EXPECT_OK(code.status());
      if (code.ok()) req.set_enrolment_code(code->code);
    } else {
      req.set_role(v1::ROLE_CLIENT);
      req.set_invite_code(invite);
    }
    req.set_device_secret(user.secret);
    req.set_registration_id(user.registration_id);
    FillDeviceKeys(*user.keys, 1, req.mutable_keys());
    return req;
  }

  grpc::Status Register(int node, const v1::RegisterRequest& req) {
    v1::RegisterResponse resp;
    return nodes_[node].accounts->Register(Ctx("").get(), req, &resp);
  }

  // Registers `user` through `node` (its code issued there too).
  grpc::Status Register(int node, const User& user, const std::string& invite = "") {
    return Register(node, RequestFor(user, invite, node));
  }

  std::string Invite(int node, const User& therapist) {
    v1::CreateInviteResponse r;
    grpc::Status s = nodes_[node].care->CreateInvite(Ctx(therapist.Header()).get(), {}, &r);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return r.code();
  }

  sotto::testing::TempDir dir_;
  std::unique_ptr<sotto::testing::PostgresInstance> pg_;
  Node nodes_[2];
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_TESTS_SERVER_MULTI_NODE_FIXTURE_H_
