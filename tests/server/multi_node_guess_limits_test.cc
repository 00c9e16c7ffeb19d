// Two sotto-server nodes on ONE real PostgreSQL (issue 17): the limits that
// stand between a guesser and a secret count in the database, so a guesser
// who spreads wrong codes or wrong device secrets over both nodes behind a
// balancer is stopped at the configured count, not at twice it. Each node
// is a real in-process server on its own loopback port; they share only
// the database and the key files.

#include <string>

#include "absl/strings/str_cat.h"
#include "server/domain/limits.h"
#include "testing/status_matchers.h"
#include "tests/server/multi_node_fixture.h"

namespace sotto::server::rpc {
namespace {

// Failed authentications one address may make (burst; it regains one an
// hour, so none within a test).
constexpr double kFailedAuthBurst = 4;

class MultiNodeGuessLimitsTest : public MultiNodeTest {
 protected:
  void Configure(ServerOptions& options) override {
    options.rate_limits.failed_auth = {kFailedAuthBurst, 1};
  }

  // WhoAmI through `node` with `header`'s credentials.
  grpc::Status WhoAmI(int node, const std::string& header) {
    v1::WhoAmIResponse r;
    return nodes_[node].accounts->WhoAmI(Ctx(header).get(), {}, &r);
  }
};

// `code` with its last character changed: well formed, and wrong.
std::string WrongCode(std::string code) {
  code.back() = code.back() == '2' ? '3' : '2';
  return code;
}

TEST_F(MultiNodeGuessLimitsTest, WrongInviteCodesSpreadOverBothNodesHitTheLimitAtTheCount) {
  User ana = NewUser("dr-ana");
  ASSERT_TRUE(Register(0, ana).ok());
  const std::string code = Invite(0, ana);
  User sam = NewUser("sam");
  const v1::RegisterRequest wrong = RequestFor(sam, WrongCode(code));
  // Alternating nodes: each sees half of the failures.
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    EXPECT_THAT(Register(i % 2, wrong), GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite"))
        << "failure " << i + 1;
  }
  // The next wrong code, through either node, is over the budget.
  for (int node : {0, 1}) {
    EXPECT_THAT(Register(node, wrong),
                GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes"))
        << "node " << node;
  }
  // The right code is still checked, and works (the server-wide allowance
  // of checks past a budget has room).
  EXPECT_TRUE(Register(1, RequestFor(sam, code)).ok());
}

TEST_F(MultiNodeGuessLimitsTest, WrongDeviceSecretsSpreadOverBothNodesHitTheLimitAtTheCount) {
  User kim = NewUser("dr-kim");
  ASSERT_TRUE(Register(0, kim).ok());
  User guesser = NewUser("dr-kim");
  guesser.secret = std::string(kDeviceSecretBytes, 'x');
  for (int i = 0; i < static_cast<int>(kFailedAuthBurst); ++i) {
    EXPECT_THAT(WhoAmI(i % 2, guesser.Header()), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""))
        << "failure " << i + 1;
  }
  for (int node : {0, 1}) {
    EXPECT_THAT(WhoAmI(node, guesser.Header()),
                GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many failed authentications"))
        << "node " << node;
  }
  // The owner, from the same address, still proves the secret on both.
  for (int node : {0, 1}) EXPECT_TRUE(WhoAmI(node, kim.Header()).ok()) << "node " << node;
}

}  // namespace
}  // namespace sotto::server::rpc
