// Plain TCP carries the device secret in the clear: only loopback until TLS.

#include "client-lib/transport/address_policy.h"

#include "client-lib/transport/connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::transport {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ClientFixAddressPolicyTest, LoopbackAddressesAreAllowed) {
  for (const char* address :
       {"127.0.0.1:50051", "127.8.9.10:1", "localhost:7000", "LOCALHOST:7000", "[::1]:50051", "::1",
        "localhost", "dns:///localhost:50051", "ipv4:127.0.0.1:80", "ipv6:[::1]:80"}) {
    EXPECT_THAT(CheckPlainTcpAddress(address), IsOk()) << address;
  }
}

TEST(ClientFixAddressPolicyTest, EverythingElseIsRefusedNamingTheHost) {
  EXPECT_THAT(CheckPlainTcpAddress("sotto.example.org:443"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "refusing to send credentials to sotto.example.org over "
                       "plain TCP; Sotto "
                       "allows only loopback until TLS is configured"));
  for (const char* address :
       {"10.0.0.5:50051", "192.168.1.2:1", "[2001:db8::1]:443", "0.0.0.0:50051", "128.0.0.1:1",
        "localhost.evil.com:1", "127.0.0.1.nip.io:1", "[::ffff:10.0.0.1]:1", ""}) {
    EXPECT_THAT(CheckPlainTcpAddress(address),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("over plain TCP")))
        << address;
  }
}

TEST(ClientFixAddressPolicyTest, ConnectionToARemoteHostSendsNothing) {
  Connection connection("203.0.113.7:50051");
  connection.SetCredentials({"sam", 1, std::string(32, 'k')});
  EXPECT_THAT(connection.WhoAmI(), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("refusing to send credentials to "
                                                      "203.0.113.7")));
  EXPECT_THAT(connection.Register(v1::RegisterRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(connection.Fetch(0, 10), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(connection.ListLinks(), StatusIs(absl::StatusCode::kInvalidArgument));
  auto subscription = connection.Subscribe();
  EXPECT_FALSE(subscription->Read().has_value());
  EXPECT_THAT(subscription->Finish(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sotto::client::transport
