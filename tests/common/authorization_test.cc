// sotto::AuthorizationValue builds the credential docs/PROTOCOL.md specifies.

#include "sotto/authorization.h"

#include <string>

#include "gtest/gtest.h"

namespace {

TEST(AuthorizationTest, SchemeHandleDeviceAndLowercaseHexSecret) {
  EXPECT_EQ(sotto::AuthorizationValue("sam", 1, std::string("\x9f\x86\x00\xff", 4)),
            "Sotto sam.1:9f8600ff");
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "5a";
  EXPECT_EQ(sotto::AuthorizationValue("dr-lee", 4294967295u, std::string(32, 'Z')),
            "Sotto dr-lee.4294967295:" + hex);
  EXPECT_EQ(std::string(sotto::kAuthorizationKey), "authorization");
}

}  // namespace
