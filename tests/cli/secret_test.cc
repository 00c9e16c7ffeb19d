#include "secret.h"

#include <stdlib.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace sotto::cli {
namespace {

TEST(WipeTest, EveryByteUpToTheCapacityIsZeroedAndTheStringEmpty) {
  std::string s = "correct horse battery staple, long enough to be on the heap";
  const char* block = s.data();
  const size_t capacity = s.capacity();
  s.resize(5);  // the rest of the passphrase is still in the block
  Wipe(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.data(), block);  // same block: nothing was reallocated
  for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(block[i], '\0') << "byte " << i;
}

TEST(WipeTest, ShortStringsInsideTheObjectAreWipedToo) {
  std::string s = "hunter2";
  const char* inline_bytes = s.data();
  Wipe(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(std::memcmp(inline_bytes, "\0\0\0\0\0\0\0", 7), 0);
}

TEST(TakeFromEnvironmentTest, ReturnsTheValueAndLeavesNothingInTheEnvironment) {
  ASSERT_EQ(setenv("SOTTO_SECRET_TEST", "correct horse", 1), 0);
  char* in_environment = getenv("SOTTO_SECRET_TEST");
  ASSERT_NE(in_environment, nullptr);
  std::optional<std::string> taken = TakeFromEnvironment("SOTTO_SECRET_TEST");
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(*taken, "correct horse");
  // Removed (a child would not inherit it) and overwritten where it was.
  EXPECT_EQ(getenv("SOTTO_SECRET_TEST"), nullptr);
  EXPECT_EQ(std::memcmp(in_environment, std::string(13, '\0').data(), 13), 0);
}

TEST(TakeFromEnvironmentTest, UnsetIsNullopt) {
  unsetenv("SOTTO_SECRET_TEST_UNSET");
  EXPECT_FALSE(TakeFromEnvironment("SOTTO_SECRET_TEST_UNSET").has_value());
}

}  // namespace
}  // namespace sotto::cli
