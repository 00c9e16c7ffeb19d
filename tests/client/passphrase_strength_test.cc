// CheckPassphraseStrength: the policy `sotto init` and `passwd` apply.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/passphrase.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(PassphraseStrengthTest, ShortOnesAreRefusedForTheirLength) {
  EXPECT_THAT(CheckPassphraseStrength(""),
              StatusIs(kInvalid, HasSubstr("too short: use at least 10 characters")));
  EXPECT_THAT(CheckPassphraseStrength("a"),
              StatusIs(kInvalid, HasSubstr("too short: use at least 10 characters")));
  // Nine random symbols estimate well above the threshold; the length rule
  // still refuses them.
  EXPECT_THAT(CheckPassphraseStrength("kQ7#vP2x!"), StatusIs(kInvalid, HasSubstr("too short")));
}

TEST(PassphraseStrengthTest, LengthCountsCharactersNotBytes) {
  // Nine characters, eighteen bytes in UTF-8.
  EXPECT_THAT(CheckPassphraseStrength("ééééééééé"), StatusIs(kInvalid, HasSubstr("too short")));
}

TEST(PassphraseStrengthTest, CommonPasswordsAndPatternsAreTooEasyToGuess) {
  EXPECT_THAT(CheckPassphraseStrength("password1"), StatusIs(kInvalid, HasSubstr("too short")));
  EXPECT_THAT(
      CheckPassphraseStrength("password1234"),
      StatusIs(kInvalid, AllOf(HasSubstr("too easy to guess"),
                               HasSubstr("a common word or password"), HasSubstr("10^15 needed"),
                               HasSubstr("try a longer phrase of several unrelated "
                                         "words"))));
  EXPECT_THAT(CheckPassphraseStrength("aaaaaaaaaaaa"),
              StatusIs(kInvalid, AllOf(HasSubstr("too easy to guess"),
                                       HasSubstr("a repetition such as aaaa or abcabc"))));
  EXPECT_THAT(CheckPassphraseStrength("bbbbbbbbbbbbbb"),
              StatusIs(kInvalid, HasSubstr("a repetition")));
  EXPECT_THAT(CheckPassphraseStrength("zaq1xsw2cde3"),
              StatusIs(kInvalid, HasSubstr("a keyboard pattern such as qwerty")));
  EXPECT_THAT(CheckPassphraseStrength("abcdefghijkl"), StatusIs(kInvalid, HasSubstr("a sequence")));
  // Two common words: ~2^28 guesses, days for a determined attacker.
  EXPECT_THAT(CheckPassphraseStrength("correct horse"),
              StatusIs(kInvalid, HasSubstr("too easy to guess")));
}

TEST(PassphraseStrengthTest, TheUsersOwnWordsCountAsGuessable) {
  const std::vector<std::string> handle = {"sam"};
  EXPECT_THAT(CheckPassphraseStrength("sam12345678", handle),
              StatusIs(kInvalid, AllOf(HasSubstr("too easy to guess"),
                                       HasSubstr("your handle or another word about you"))));
  EXPECT_THAT(CheckPassphraseStrength("SAM12345678", handle),
              StatusIs(kInvalid, HasSubstr("your handle")));
}

TEST(PassphraseStrengthTest, TheMessageNeverContainsThePassphrase) {
  const absl::Status weak = CheckPassphraseStrength("password1234");
  EXPECT_THAT(std::string(weak.message()), Not(HasSubstr("password1234")));
}

TEST(PassphraseStrengthTest, SeveralUnrelatedWordsAreAccepted) {
  EXPECT_THAT(CheckPassphraseStrength("river stone cloud tiger"), IsOk());
  EXPECT_THAT(CheckPassphraseStrength("tulip marble oxygen canyon", {"sam", "sotto"}), IsOk());
  EXPECT_THAT(CheckPassphraseStrength("correct horse battery staple"), IsOk());
}

}  // namespace
}  // namespace sotto
