#include "server/storage/key_codec.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sotto::server::keys {
namespace {

TEST(KeyCodecTest, BigEndianRoundTrips) {
  for (uint32_t v : {0u, 1u, 255u, 256u, 0xFFFFFFu, 0xFFFFFFFFu}) {
    std::string s;
    AppendBigEndian32(s, v);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(ReadBigEndian32(s), v);
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40, ~uint64_t{0}}) {
    std::string s;
    AppendBigEndian64(s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(ReadBigEndian64(s), v);
  }
  EXPECT_FALSE(ReadBigEndian32("abc").has_value());
  EXPECT_FALSE(ReadBigEndian64("abcdefghi").has_value());
}

TEST(KeyCodecTest, ByteOrderOfQueueKeysIsNumericOrderOfSeqs) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> seqs = {0, 1, 255, 256, 65535, 65536, ~uint64_t{0}};
  for (int i = 0; i < 200; ++i) seqs.push_back(rng());
  for (uint64_t a : seqs) {
    for (uint64_t b : {seqs[0], seqs[3], seqs[6], seqs[10]}) {
      EXPECT_EQ(a < b, Queue("bob", 2, a) < Queue("bob", 2, b)) << a << " vs " << b;
    }
    EXPECT_EQ(QueueSeqOf(Queue("bob", 2, a)), a);
  }
}

TEST(KeyCodecTest, OneDevicesQueueIsOnePrefix) {
  const std::string prefix = QueuePrefix("bob", 2);
  EXPECT_EQ(Queue("bob", 2, 7).rfind(prefix, 0), 0u);
  EXPECT_NE(Queue("bob", 3, 7).rfind(prefix, 0), 0u);
  // A handle that extends another is not under its prefix.
  EXPECT_NE(Queue("bobby", 2, 7).rfind(prefix, 0), 0u);
  EXPECT_NE(Queue("bob", 2 + (1u << 8), 7).rfind(prefix, 0), 0u);
}

TEST(KeyCodecTest, DeviceAndPreKeyIdsRoundTrip) {
  EXPECT_EQ(DeviceIdOf(Device("alice", 9)), 9u);
  EXPECT_EQ(OneTimePreKeyIdOf(OneTimePreKey("alice", 1, 0xABCDEF)), 0xABCDEFu);
  EXPECT_LT(OneTimePreKey("alice", 1, 2), OneTimePreKey("alice", 1, 256));
  EXPECT_EQ(OneTimePreKey("alice", 1, 5).rfind(OneTimePreKeyPrefix("alice", 1), 0), 0u);
  EXPECT_NE(IdentityKey("alice", 1).rfind(OneTimePreKeyPrefix("alice", 1), 0), 0u);
  EXPECT_NE(SignedPreKey("alice", 1).rfind(OneTimePreKeyPrefix("alice", 1), 0), 0u);
}

TEST(KeyCodecTest, DevicePrefixSizeFindsTheDeviceOfEveryPerDeviceKey) {
  const size_t device = Device("alice", 3).size();
  EXPECT_EQ(DevicePrefixSize(Device("alice", 3)), device);
  EXPECT_EQ(DevicePrefixSize(Queue("alice", 3, 42)), device);
  EXPECT_EQ(DevicePrefixSize(QueueMeta("alice", 3)), device);
  EXPECT_EQ(DevicePrefixSize(Idempotency("alice", 3, std::string(16, 'x'))), device);
  // A device id of 0 is four NUL bytes; only the first NUL ends the handle.
  EXPECT_EQ(DevicePrefixSize(Queue("al", 0, 0)), Device("al", 0).size());
  EXPECT_EQ(DevicePrefixSize("alice"), std::nullopt);
  EXPECT_EQ(DevicePrefixSize(UserPrefix("alice") + "abc"), std::nullopt);
}

// Keys are stored: their bytes may never change, or existing databases
// would no longer find their records.
TEST(KeyCodecTest, StoredKeyBytesAreFixed) {
  using namespace std::string_literals;
  EXPECT_EQ(UserPrefix("al"), "al\0"s);
  EXPECT_EQ(Device("al", 0x01020304), "al\0\x01\x02\x03\x04"s);
  EXPECT_EQ(QueueMeta("al", 7), "al\0\0\0\0\x07"s);
  EXPECT_EQ(Queue("al", 7, 0x0102030405060708), "al\0\0\0\0\x07\x01\x02\x03\x04\x05\x06\x07\x08"s);
  EXPECT_EQ(Idempotency("al", 7, "id"), "al\0\0\0\0\x07id"s);
  EXPECT_EQ(Pair("th", "cl"), "th\0cl"s);
  EXPECT_EQ(IdentityKey("al", 7), "al\0\0\0\0\x07\x01"s);
  EXPECT_EQ(SignedPreKey("al", 7), "al\0\0\0\0\x07\x02"s);
  EXPECT_EQ(OneTimePreKey("al", 7, 0x0a0b0c0d), "al\0\0\0\0\x07\x03\x0a\x0b\x0c\x0d"s);
  EXPECT_EQ(Scheduled(0x0102030405060708, "al", 7, "id"),
            "\x01\x02\x03\x04\x05\x06\x07\x08"
            "al\0\0\0\0\x07id"s);
}

TEST(KeyCodecTest, IdempotencyKeysSeparateSendersAndDevices) {
  const std::string id(16, 'x');
  EXPECT_NE(Idempotency("alice", 1, id), Idempotency("alice", 2, id));
  EXPECT_NE(Idempotency("alice", 1, id), Idempotency("alicf", 1, id));
}

}  // namespace
}  // namespace sotto::server::keys
