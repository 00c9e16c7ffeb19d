// sotto::IsLoopbackHost: the one loopback check the server (listen address)
// and the client (where a device secret may go over plain TCP) share.

#include "sotto/loopback.h"

#include <string>

#include "gtest/gtest.h"

namespace {

TEST(LoopbackTest, LocalhostInAnyCase) {
  EXPECT_TRUE(sotto::IsLoopbackHost("localhost"));
  EXPECT_TRUE(sotto::IsLoopbackHost("LocalHost"));
  EXPECT_FALSE(sotto::IsLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(sotto::IsLoopbackHost("notlocalhost"));
}

TEST(LoopbackTest, TheWholeIpv4LoopbackNetwork) {
  for (const char* host : {"127.0.0.1", "127.0.0.0", "127.1.2.3", "127.255.255.255"}) {
    EXPECT_TRUE(sotto::IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"128.0.0.1", "126.255.255.255", "0.0.0.0", "10.0.0.1", "192.0.2.1",
                           "127.0.0.256", "127.1"}) {
    EXPECT_FALSE(sotto::IsLoopbackHost(host)) << host;
  }
}

TEST(LoopbackTest, Ipv6LoopbackBareOrBracketed) {
  for (const char* host : {"::1", "[::1]", "0:0:0:0:0:0:0:1", "[0::1]"}) {
    EXPECT_TRUE(sotto::IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"::", "[::]", "::2", "fe80::1", "[::1", "::1]", "[[::1]]"}) {
    EXPECT_FALSE(sotto::IsLoopbackHost(host)) << host;
  }
}

TEST(LoopbackTest, NamesAreNeverResolvedAndJunkIsNotLoopback) {
  for (const char* host : {"", "[]", "example.com", "127.0.0.1:7443", "[127.0.0.1]x", " 127.0.0.1",
                           "dns:///localhost"}) {
    EXPECT_FALSE(sotto::IsLoopbackHost(host)) << host;
  }
  // An embedded NUL must not cut the string short.
  EXPECT_FALSE(sotto::IsLoopbackHost(std::string("127.0.0.1\0.evil.com", 19)));
  EXPECT_FALSE(sotto::IsLoopbackHost(std::string("localhost\0x", 11)));
}

}  // namespace
