// The agent socket's frames and key/value pairs (cli/agent/protocol.h), over
// a real socketpair: what one side writes the other reads back exactly, and
// malformed input is refused by name instead of being half-read.

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "agent/protocol.h"
#include "gtest/gtest.h"

namespace sotto::cli::agent {
namespace {

TEST(AgentProtocolTest, PairsRoundTripIncludingBinaryAndEmptyValues) {
  const Pairs pairs = {{"arg", "send"},
                       {"arg", ""},
                       {"stdin", std::string("a\0b\xff", 4)},
                       {"env", "TZ=Europe/Paris"}};
  absl::StatusOr<Pairs> back = DecodePairs(EncodePairs(pairs));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, pairs);
}

TEST(AgentProtocolTest, APairCutShortIsRefused) {
  const std::string encoded = EncodePairs({{"cwd", "/home/sam"}});
  absl::StatusOr<Pairs> cut = DecodePairs(encoded.substr(0, encoded.size() - 1));
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cut.status().message().find("cut short"), absl::string_view::npos);
}

TEST(AgentProtocolTest, FramesCrossASocketWholeAndAnOversizedOneIsRefused) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const std::string big(200'000, 'x');  // more than one socket buffer
  ASSERT_TRUE(WriteFrame(fds[0], kStdout, "hello").ok());
  // The reader drains while the writer writes the big frame.
  std::thread writer([&] { EXPECT_TRUE(WriteFrame(fds[0], kStderr, big).ok()); });
  absl::StatusOr<Frame> first = ReadFrame(fds[1]);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->type, kStdout);
  EXPECT_EQ(first->payload, "hello");
  absl::StatusOr<Frame> second = ReadFrame(fds[1]);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->type, kStderr);
  EXPECT_EQ(second->payload, big);
  writer.join();

  const char oversized[4] = {0x7f, 0, 0, 0};  // 2 GiB
  ASSERT_EQ(write(fds[0], oversized, 4), 4);
  absl::StatusOr<Frame> refused = ReadFrame(fds[1]);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  close(fds[0]);
  absl::StatusOr<Frame> closed = ReadFrame(fds[1]);
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kUnavailable);
  close(fds[1]);
}

TEST(AgentProtocolTest, StatusCrossesAsCodeAndMessage) {
  const absl::Status wrong = absl::PermissionDeniedError("wrong passphrase");
  EXPECT_EQ(EncodeStatus(wrong), "7:wrong passphrase");
  EXPECT_EQ(DecodeStatus(EncodeStatus(wrong)), wrong);
  EXPECT_EQ(DecodeStatus("garbage").code(), absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace sotto::cli::agent
