#include "sanitize.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace sotto::cli {
namespace {

// `cp` as UTF-8 (BMP only, which is all these tests need).
std::string Utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

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

TEST(ForTerminalTest, EveryBidiControlIsReplaced) {
  // U+061C ARABIC LETTER MARK, U+200E/F, U+202A..E, U+2066..9: each alone
  // between two letters, in the single-line and the multiline form.
  const uint32_t kBidi[] = {0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C,
                            0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069};
  for (uint32_t cp : kBidi) {
    const std::string text = "a" + Utf8(cp) + "b";
    EXPECT_EQ(ForTerminal(text, false),
              "a\xEF\xBF\xBD"
              "b")
        << std::hex << cp;
    EXPECT_EQ(ForTerminal(text, true),
              "a\xEF\xBF\xBD"
              "b")
        << std::hex << cp;
  }
}

TEST(ForTerminalTest, ArabicLetterMarkCannotReorderAHandle) {
  // "dr-rivera" followed by ALM: the mark is shown as "�", the rest kept.
  EXPECT_EQ(ForTerminal("dr-rivera\xD8\x9C", false), "dr-rivera\xEF\xBF\xBD");
}

TEST(ForTerminalTest, InvisibleAndSeparatorCharactersAreReplaced) {
  const uint32_t kHidden[] = {0x200B, 0x2028, 0x2029, 0x2060, 0x2064, 0x206A,
                              0x206F, 0xFEFF, 0x180E, 0xFFF9, 0xFFFB};
  for (uint32_t cp : kHidden) {
    EXPECT_EQ(ForTerminal("a" + Utf8(cp) + "b", true),
              "a\xEF\xBF\xBD"
              "b")
        << std::hex << cp;
  }
  // Joiners that emoji and scripts need are kept: 👩‍⚕️ (ZWJ), فارسی‌ (ZWNJ).
  EXPECT_EQ(ForTerminal("\xF0\x9F\x91\xA9\xE2\x80\x8D\xE2\x9A\x95", true),
            "\xF0\x9F\x91\xA9\xE2\x80\x8D\xE2\x9A\x95");
  EXPECT_EQ(ForTerminal("a\xE2\x80\x8C"
                        "b",
                        true),
            "a\xE2\x80\x8C"
            "b");
}

TEST(ForTerminalTest, EveryC0AndC1ControlIsReplaced) {
  for (uint32_t cp = 0; cp <= 0x9F; ++cp) {
    if (cp >= 0x20 && cp < 0x7F) continue;
    if (cp == '\n' || cp == '\t') continue;
    EXPECT_EQ(ForTerminal("a" + Utf8(cp) + "b", true),
              "a\xEF\xBF\xBD"
              "b")
        << std::hex << cp;
  }
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
