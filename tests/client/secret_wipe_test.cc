// Secrets and plaintexts leave memory when done with (issue 22): the wipe
// helper, the connection's copy of the device secret, core dumps off.

#include <sys/prctl.h>
#include <sys/resource.h>

#include <string>

#include "client-lib/storage/wipe.h"
#include "client-lib/transport/connection.h"
#include "gtest/gtest.h"
#include "sotto/core_dumps.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

// True if the `n` bytes at `p` are all zero.
bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

TEST(WipeTest, OverwritesTheBytesInPlaceAndEmptiesTheString) {
  std::string secret = "correct horse battery staple, a passphrase";
  const char* buffer = secret.data();
  const size_t size = secret.size();
  storage::Wipe(secret);
  EXPECT_TRUE(secret.empty());
  // The buffer is kept (clear() does not free), so it can be read here.
  ASSERT_EQ(secret.data(), buffer);
  EXPECT_TRUE(AllZero(buffer, size));
}

TEST(WipeTest, ReachesBytesAStringThatShrankStillHolds) {
  std::string secret = "0123456789abcdef0123456789abcdef-device-secret";
  const char* buffer = secret.data();
  const size_t size = secret.size();
  secret.resize(4);  // the rest is still in the buffer
  storage::Wipe(secret);
  ASSERT_EQ(secret.data(), buffer);
  EXPECT_TRUE(AllZero(buffer, size));
}

TEST(WipeTest, ScopedWipeWipesOnEveryWayOut) {
  std::string plaintext = "I have not slept properly since March";
  const char* buffer = plaintext.data();
  const size_t size = plaintext.size();
  [&] {
    storage::ScopedWipe wipe(plaintext);
    if (!plaintext.empty()) return;  // an early return
  }();
  ASSERT_EQ(plaintext.data(), buffer);
  EXPECT_TRUE(AllZero(buffer, size));
}

TEST(ConnectionCredentialsTest, ClearDropsTheSecretAndSetReplacesIt) {
  transport::Connection connection("127.0.0.1:1");
  EXPECT_FALSE(connection.HasCredentials());
  connection.SetCredentials({"sam", 1, std::string(32, '\x42')});
  EXPECT_TRUE(connection.HasCredentials());
  connection.SetCredentials({"sam", 1, std::string(32, '\x43')});
  EXPECT_TRUE(connection.HasCredentials());
  connection.ClearCredentials();
  EXPECT_FALSE(connection.HasCredentials());
}

TEST(CoreDumpsTest, DisableCoreDumpsLeavesTheProcessUndumpableWithNoCoreLimit) {
  ASSERT_OK(DisableCoreDumps());
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  struct rlimit limit {};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, 0u);
  EXPECT_EQ(limit.rlim_max, 0u);
  // Idempotent.
  ASSERT_OK(DisableCoreDumps());
}

}  // namespace
}  // namespace sotto::client
