#include "json_writer.h"

#include "gtest/gtest.h"

namespace sotto::cli {
namespace {

TEST(JsonStringTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(JsonString(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
}

TEST(JsonStringTest, ControlCharactersAreEscapedNotReplaced) {
  EXPECT_EQ(JsonString("a\nb\tc\rd\be\ff"), R"("a\nb\tc\rd\be\ff")");
  // Escape, BEL, NUL: what a terminal attack is made of.
  EXPECT_EQ(JsonString(std::string("\x1b[2J\x07\0x", 7)), R"("\u001b[2J\u0007\u0000x")");
  // DEL and C1 CSI (U+009B) are legal JSON but act on some terminals.
  EXPECT_EQ(JsonString("\x7f\xC2\x9B"), R"("\u007f\u009b")");
}

TEST(JsonStringTest, DirectionMarksAndLineSeparatorsAreEscaped) {
  EXPECT_EQ(JsonString("a\u202Eb\u2066c\u200Fd\u2028e"), R"("a\u202eb\u2066c\u200fd\u2028e")");
  // U+061C ARABIC LETTER MARK and the zero-width space, as ForTerminal.
  EXPECT_EQ(JsonString("dr\u061C-x\u200By"), R"("dr\u061c-x\u200by")");
}

TEST(JsonStringTest, Utf8PassesThrough) {
  EXPECT_EQ(JsonString("día difícil — 🙂 日本"), "\"día difícil — 🙂 日本\"");
}

TEST(JsonStringTest, InvalidUtf8BecomesReplacementCharacters) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // surrogate.
  EXPECT_EQ(JsonString("a\x80"
                       "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(JsonString("c\xE2\x82"), "\"c\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonString("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonString("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonWriterTest, NestedDocumentIsIndentedWithCommasBetweenItems) {
  JsonWriter w;
  w.BeginObject();
  w.Key("peer");
  w.String("sam");
  w.Key("count");
  w.Int(-3);
  w.Key("flags");
  w.BeginArray();
  w.Bool(true);
  w.Bool(false);
  w.Null();
  w.EndArray();
  w.Key("empty");
  w.BeginArray();
  w.EndArray();
  w.Key("none");
  w.BeginObject();
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(w.Take(),
            "{\n"
            "  \"peer\": \"sam\",\n"
            "  \"count\": -3,\n"
            "  \"flags\": [\n"
            "    true,\n"
            "    false,\n"
            "    null\n"
            "  ],\n"
            "  \"empty\": [],\n"
            "  \"none\": {}\n"
            "}\n");
}

TEST(JsonWriterTest, TimeIsUnixMillisecondsAndIsoUtcOrNullForNone) {
  JsonWriter w;
  w.BeginObject();
  w.Time("sent", 1764579600123);  // 2025-12-01T09:00:00.123Z
  w.Time("due", 0);
  w.EndObject();
  EXPECT_EQ(w.Take(),
            "{\n"
            "  \"sent_ms\": 1764579600123,\n"
            "  \"sent\": \"2025-12-01T09:00:00.123Z\",\n"
            "  \"due_ms\": null,\n"
            "  \"due\": null\n"
            "}\n");
}

TEST(JsonWriterTest, TopLevelArrayAndEscapedKeys) {
  JsonWriter w;
  w.BeginArray();
  w.BeginObject();
  w.Key("a\"b");
  w.String("\x1b");
  w.EndObject();
  w.EndArray();
  EXPECT_EQ(w.Take(), "[\n  {\n    \"a\\\"b\": \"\\u001b\"\n  }\n]\n");
}

}  // namespace
}  // namespace sotto::cli
