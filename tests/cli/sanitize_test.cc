#include "sanitize.h"

#include "gtest/gtest.h"

namespace sotto::cli {
namespace {

TEST(ForTerminalTest, OrdinaryTextAndUnicodePassUnchanged) {
  EXPECT_EQ(ForTerminal("I had a hard week — día difícil 🙂\n\tmore", true),
            "I had a hard week — día difícil 🙂\n\tmore");
}

TEST(ForTerminalTest, EscapeSequencesCannotReachTheTerminal) {
  // Clear screen, set the window title, move the cursor.
  EXPECT_EQ(ForTerminal("a\x1b[2Jb\x1b]0;pwned\x07"
                        "c\rd",
                        true),
            "a\xEF\xBF\xBD[2Jb\xEF\xBF\xBD]0;pwned\xEF\xBF\xBD"
            "c\xEF\xBF\xBD"
            "d");
  // C1 CSI (U+009B) and DEL.
  EXPECT_EQ(ForTerminal("x\xC2\x9B"
                        "31my\x7F",
                        true),
            "x\xEF\xBF\xBD"
            "31my\xEF\xBF\xBD");
}

TEST(ForTerminalTest, BidiOverridesCannotReorderWhatIsShown) {
  EXPECT_EQ(ForTerminal("pay \xE2\x80\xAE"
                        "0001",
                        true),
            "pay \xEF\xBF\xBD"
            "0001");
  EXPECT_EQ(ForTerminal("\xE2\x81\xA6x\xE2\x81\xA9", true), "\xEF\xBF\xBDx\xEF\xBF\xBD");
}

TEST(ForTerminalTest, InvalidUtf8IsReplacedNotPassedThrough) {
  EXPECT_EQ(ForTerminal("ok\xFF\xC0\xAF", true), "ok\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ForTerminal("\xE2\x82", true), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ForTerminalTest, SingleLineFieldsCannotFakeANewMessageHeader) {
  EXPECT_EQ(ForTerminal("Re: hi\n── 2026-11-27 02:00  dr-rivera", false),
            "Re: hi ── 2026-11-27 02:00  dr-rivera");
}

}  // namespace
}  // namespace sotto::cli
