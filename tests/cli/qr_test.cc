// QR codes for invites and safety numbers (cli/qr.h, issue 18): the SVG the
// desk serves as qr_svg and the terminal drawing `sotto invite` prints.

#include "qr.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::cli {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kInvite[] = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ23-4567";

// The side of the SVG in modules, from its viewBox "0 0 N N".
int SvgSide(const std::string& svg) {
  const std::string marker = "viewBox=\"0 0 ";
  size_t at = svg.find(marker);
  if (at == std::string::npos) return -1;
  return std::stoi(svg.substr(at + marker.size()));
}

TEST(QrTest, SvgIsAStandaloneSvgWithTheFinderPatternsAndNoScript) {
  ASSERT_OK_AND_ASSIGN(std::string svg, QrSvg(kInvite));
  EXPECT_THAT(svg, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, EndsWith("</svg>"));
  EXPECT_THAT(svg, Not(HasSubstr("script")));
  EXPECT_THAT(svg, Not(HasSubstr("href")));
  // 34 bytes at level M: version 3, 29 modules, plus 4 of quiet zone a side.
  EXPECT_EQ(SvgSide(svg), 29 + 8);
  // The three finder patterns' outer corners (dark), after the quiet zone.
  EXPECT_THAT(svg, HasSubstr("M4 4h1v1h-1z"));
  EXPECT_THAT(svg, HasSubstr("M32 4h1v1h-1z"));
  EXPECT_THAT(svg, HasSubstr("M4 32h1v1h-1z"));
  // ... and never a module in the bottom-right finder's place (there is none).
  EXPECT_THAT(svg, Not(HasSubstr("M32 32h1v1h-1z")));
}

TEST(QrTest, SameTextSameBytesAndLongerTextABiggerCode) {
  ASSERT_OK_AND_ASSIGN(std::string a, QrSvg(kInvite));
  ASSERT_OK_AND_ASSIGN(std::string b, QrSvg(kInvite));
  EXPECT_EQ(a, b);
  ASSERT_OK_AND_ASSIGN(std::string other, QrSvg("ABCD-EFGH-JKMN-PQRS-TVWX-YZ23-4568"));
  EXPECT_NE(a, other);
  ASSERT_OK_AND_ASSIGN(std::string longer, QrSvg(std::string(300, 'x')));
  EXPECT_GT(SvgSide(longer), SvgSide(a));
}

TEST(QrTest, EmptyOrTooLongTextIsRefusedNamingWhy) {
  EXPECT_THAT(QrSvg(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(QrSvg(std::string(2332, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2332 bytes")));
  EXPECT_THAT(QrTerminal(""), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(QrSvg(std::string(2331, 'x')).status());  // the largest that fits
}

TEST(QrTest, TerminalDrawingIsTwoModuleRowsPerLine) {
  ASSERT_OK_AND_ASSIGN(std::string drawn, QrTerminal(kInvite));
  std::vector<std::string> lines = absl::StrSplit(drawn, '\n', absl::SkipEmpty());
  // 29 modules + 2 of quiet zone a side = 33 rows: 17 lines of half blocks.
  ASSERT_EQ(lines.size(), 17u);
  for (const std::string& line : lines) {
    // 33 columns, each one character of 3 bytes (a block) or 1 (a space).
    size_t columns = 0;
    for (unsigned char c : line) columns += (c & 0xC0) != 0x80 ? 1 : 0;
    EXPECT_EQ(columns, 33u);
  }
  // The quiet zone is light: the first line is all full blocks.
  std::string full;
  for (int i = 0; i < 33; ++i) full += "\u2588";
  EXPECT_EQ(lines[0], full);
}

}  // namespace
}  // namespace sotto::cli
