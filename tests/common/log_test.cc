// The logger's line format: whatever a message quotes (a path with a
// newline, bytes that are not UTF-8), an event stays one line, and a JSON
// line stays valid JSON.

#include "sotto/log.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "gtest/gtest.h"

namespace {

using sotto::log::Field;
using sotto::log::Format;
using sotto::log::FormatLine;
using sotto::log::Level;

TEST(LogTest, TextLinesHaveThePrefixLevelAndQuotedFields) {
  EXPECT_EQ(FormatLine(Format::kText, Level::kInfo, "", "request",
                       {{"method", "/a.B/C"}, {"status", "OK"}, {"ms", 0.5}}),
            "sotto-server: request method=/a.B/C status=OK ms=0.500");
  EXPECT_EQ(FormatLine(Format::kText, Level::kError, "", "disk\nfull", {{"path", "a b\"c"}}),
            "sotto-server: error: disk\\nfull path=\"a b\\\"c\"");
  EXPECT_EQ(FormatLine(Format::kText, Level::kWarn, "", "w", {{"n", int64_t{-3}}}),
            "sotto-server: warning: w n=-3");
}

TEST(LogTest, JsonLinesStayValidJsonWhateverTheyQuote) {
  const std::string line = FormatLine(Format::kJson, Level::kWarn, "2026-01-01T00:00:00.000Z",
                                      "bad \xff bytes \"quoted\"\n\t\x01 caf\xc3\xa9",
                                      {{"path", "/tmp/\xc3"}, {"n", uint64_t{7}}, {"ms", 1.25}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  google::protobuf::Struct event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok()) << line;
  const auto& f = event.fields();
  EXPECT_EQ(f.at("level").string_value(), "warn");
  EXPECT_EQ(f.at("msg").string_value(), "bad \xef\xbf\xbd bytes \"quoted\"\n\t\x01 caf\xc3\xa9");
  EXPECT_EQ(f.at("path").string_value(), "/tmp/\xef\xbf\xbd");
  EXPECT_EQ(f.at("n").number_value(), 7);
  EXPECT_EQ(f.at("ms").number_value(), 1.25);
}

TEST(LogTest, LevelsAndFormatsParseByName) {
  EXPECT_EQ(*sotto::log::ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*sotto::log::ParseFormat("json"), Format::kJson);
  EXPECT_FALSE(sotto::log::ParseLevel("verbose").ok());
  EXPECT_FALSE(sotto::log::ParseFormat("xml").ok());
  sotto::log::Configure({Level::kWarn, Format::kText});
  EXPECT_TRUE(sotto::log::Enabled(Level::kError));
  EXPECT_FALSE(sotto::log::Enabled(Level::kInfo));
}

}  // namespace
