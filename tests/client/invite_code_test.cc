// Invite codes with the therapist's key commitment (sotto/invite.h,
// client-lib/signal/identity_commitment.h): the form a person types, and the
// test vector docs/PROTOCOL.md ("Invite codes") gives implementers.

#include <string>

#include "absl/strings/escaping.h"
#include "client-lib/signal/identity_commitment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/invite.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

// docs/PROTOCOL.md's vector: key = 0x05 00 01 .. 1f, handle "dr-rivera",
// server code "3HWD-Q8PN-VX2K".
std::string VectorKey() {
  std::string key(1, '\x05');
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  return key;
}

TEST(InviteCodeTest, CommitmentMatchesTheDocumentedVector) {
  const std::string commitment =
      client::signal::IdentityCommitment("3HWDQ8PNVX2K", "dr-rivera", VectorKey());
  EXPECT_EQ(absl::BytesToHexString(commitment), "29a7efacbfd9e3d6d285");
  EXPECT_EQ(FormatInviteCode(InviteCode{"3HWDQ8PNVX2K", commitment}),
            "3HWD-Q8PN-VX2K-78MY-ZD7Z-V9KX-FNN7");
}

TEST(InviteCodeTest, ParsesWhatFormatWroteHoweverItIsTyped) {
  ASSERT_OK_AND_ASSIGN(InviteCode code, ParseInviteCode("3hwd q8pn-vx2k 78my-zd7z v9kx-fnn7"));
  EXPECT_EQ(code.server_code, "3HWDQ8PNVX2K");
  EXPECT_TRUE(code.has_key_commitment());
  EXPECT_EQ(absl::BytesToHexString(code.key_commitment), "29a7efacbfd9e3d6d285");
}

TEST(InviteCodeTest, AnOlderCodeHasNoCommitment) {
  ASSERT_OK_AND_ASSIGN(InviteCode code, ParseInviteCode("3HWD-Q8PN-VX2K"));
  EXPECT_EQ(code.server_code, "3HWDQ8PNVX2K");
  EXPECT_FALSE(code.has_key_commitment());
  EXPECT_EQ(FormatInviteCode(code), "3HWD-Q8PN-VX2K");
}

TEST(InviteCodeTest, MalformedCodesSayWhatIsWrong) {
  EXPECT_THAT(ParseInviteCode("3HWD-Q8PN-VX2K-78MY"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 16 characters")));
  EXPECT_THAT(ParseInviteCode("3HWD-Q8PN-VX2O"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'O'")));
  EXPECT_THAT(ParseInviteCode(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sotto
