// The `sotto` command and issue 22's trust rules, against the real server:
// the invite carries the therapist's key fingerprint, and `sotto trust`
// accepts exactly the key whose safety number was compared.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

using CliTrustTest = CliTest;

TEST_F(CliTrustTest, InviteWithKeyFingerprintMakesTheTherapistVerifiedFromTheFirstMessage) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  const std::string code = InviteCode("dr-rivera");
  EXPECT_THAT(code, MatchesRegex("([2-9A-HJ-NP-Z]{4}-){6}[2-9A-HJ-NP-Z]{4}"));
  CliRun client = Sotto("sam", absl::StrCat("init --server ", server_->address(),
                                            " --role client --name sam --invite ", code));
  ASSERT_EQ(client.exit_code, 0) << client.err;
  EXPECT_THAT(client.out, HasSubstr("The invite carries dr-rivera's key fingerprint"));
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'first words'").exit_code, 0);
  CliRun number = Sotto("sam", "safety-number dr-rivera");
  ASSERT_EQ(number.exit_code, 0) << number.err;
  EXPECT_THAT(number.out, HasSubstr("Verified."));
  CliRun sync = Sotto("dr-rivera", "sync");
  EXPECT_THAT(sync.out, HasSubstr("1 new message"));
}

TEST_F(CliTrustTest, OlderCodeWithoutFingerprintIsToldPlainly) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  // The server's 14 characters alone, as an older therapist client gave them.
  const std::string code = InviteCode("dr-rivera").substr(0, 14);
  CliRun client = Sotto("sam", absl::StrCat("init --server ", server_->address(),
                                            " --role client --name sam --invite ", code));
  ASSERT_EQ(client.exit_code, 0) << client.err;
  EXPECT_THAT(client.out, HasSubstr("NOTE: this invite code has no key fingerprint"));
  EXPECT_THAT(client.out, HasSubstr("They are NOT verified"));
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'first words'").exit_code, 0);
  EXPECT_THAT(Sotto("sam", "safety-number dr-rivera").out, HasSubstr("Not verified."));
}

TEST_F(CliTrustTest, TrustAcceptsOnlyTheSafetyNumberShown) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'hello'").exit_code, 0);
  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);
  // Sam starts over with a new key: the same handle, a new profile.
  ASSERT_EQ(Sotto("sam", "delete-account", "correct horse", "sam\n").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'new phone'").exit_code, 0);
  CliRun held = Sotto("dr-rivera", "sync");
  EXPECT_THAT(held.out + held.err, HasSubstr("sam's safety number changed"));

  // Without the number: shows it, accepts nothing.
  CliRun shown = Sotto("dr-rivera", "trust sam");
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_THAT(shown.err, HasSubstr("nothing was accepted yet"));
  const std::string prefix = "--safety-number ";
  const size_t at = shown.out.find(prefix);
  ASSERT_NE(at, std::string::npos) << shown.out;
  const std::string digits = shown.out.substr(at + prefix.size(), 60);
  const std::string at_sam = Sotto("sam", "safety-number dr-rivera").out;
  EXPECT_THAT(absl::StrReplaceAll(at_sam, {{" ", ""}, {"\n", ""}}), HasSubstr(digits));

  std::string wrong = digits;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  CliRun refused = Sotto("dr-rivera", "trust sam --safety-number " + wrong);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("nothing was accepted"));
  EXPECT_THAT(Sotto("dr-rivera", "sync").out + "", HasSubstr("held"));

  CliRun accepted = Sotto("dr-rivera", "trust sam --safety-number '" + digits + "'");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_THAT(accepted.out, HasSubstr("Accepted sam's new identity key"));
  CliRun sync = Sotto("dr-rivera", "sync");
  EXPECT_THAT(sync.out, HasSubstr("1 new message"));
}

}  // namespace
}  // namespace sotto
