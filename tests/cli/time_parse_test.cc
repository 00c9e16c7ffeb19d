// What people type for times on the `sotto` command line, and how it prints
// them. The clock and the zone are fixed, so nothing here depends on when or
// where the test runs.

#include "time_parse.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sotto::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// UTC+1 with no daylight saving, so civil times below are easy to check.
const absl::TimeZone kZone = absl::FixedTimeZone(60 * 60);

absl::Time At(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), kZone);
}

// Tue 1 Dec 2026, 14:30 local.
const absl::Time kNow = At(2026, 12, 1, 14, 30);

// A parsed time as "2026-12-01 09:00" local, or the error message.
std::string When(absl::string_view text) {
  absl::StatusOr<absl::Time> t = ParseWhen(text, kNow, kZone);
  if (!t.ok()) return std::string(t.status().message());
  return absl::FormatTime("%Y-%m-%d %H:%M", *t, kZone);
}

std::string Duration(absl::string_view text, absl::Duration day = absl::Hours(24)) {
  absl::StatusOr<absl::Duration> d = ParseDuration(text, day);
  if (!d.ok()) return std::string(d.status().message());
  return absl::FormatDuration(*d);
}

TEST(ParseDurationTest, ReadsDaysHoursAndMinutesInThatOrder) {
  EXPECT_EQ(Duration("2h"), "2h");
  EXPECT_EQ(Duration("90m"), "1h30m");
  EXPECT_EQ(Duration("1d"), "24h");
  EXPECT_EQ(Duration("1h30m"), "1h30m");
  EXPECT_EQ(Duration("1d2h5m"), "26h5m");
  EXPECT_EQ(Duration("2H"), "2h");
}

TEST(ParseDurationTest, ADayCanBeAWorkingDay) {
  EXPECT_EQ(Duration("1d", absl::Hours(8)), "8h");
  EXPECT_EQ(Duration("2d4h", absl::Hours(8)), "20h");
}

TEST(ParseDurationTest, RejectsWhatIsNotADurationAndNamesIt) {
  for (const char* bad : {"", "2", "h", "2x", "30m2h", "2h2h", "-2h", "1.5h", "2 h", "9999999m"}) {
    EXPECT_THAT(Duration(bad), HasSubstr(absl::StrCat("\"", bad, "\" is not a duration"))) << bad;
  }
  EXPECT_THAT(Duration("0m"), HasSubstr("longer than zero"));
}

TEST(ParseWhenTest, RelativeTimesCountFromNow) {
  EXPECT_EQ(When("+2h"), "2026-12-01 16:30");
  EXPECT_EQ(When("+30m"), "2026-12-01 15:00");
  EXPECT_EQ(When("+1d"), "2026-12-02 14:30");
  EXPECT_EQ(When("+1h30m"), "2026-12-01 16:00");
}

TEST(ParseWhenTest, TodayTomorrowAndAClockTime) {
  EXPECT_EQ(When("tomorrow 09:00"), "2026-12-02 09:00");
  EXPECT_EQ(When("Tomorrow 9:05"), "2026-12-02 09:05");
  EXPECT_EQ(When("today 17:00"), "2026-12-01 17:00");
  // A bare clock time is the next time the clock shows it.
  EXPECT_EQ(When("17:00"), "2026-12-01 17:00");
  EXPECT_EQ(When("09:00"), "2026-12-02 09:00");
  EXPECT_THAT(When("tomorrow"), HasSubstr("needs a time of day"));
}

TEST(ParseWhenTest, DatesAreLocalAndRfc3339CarriesItsOffset) {
  EXPECT_EQ(When("2026-12-03 09:00"), "2026-12-03 09:00");
  EXPECT_EQ(When("2026-12-03"), "2026-12-03 00:00");
  EXPECT_EQ(When("2026-12-03T09:00:00Z"), "2026-12-03 10:00");
  EXPECT_EQ(When("2026-12-03T09:00:00-05:00"), "2026-12-03 15:00");
}

TEST(ParseWhenTest, RejectsWhatIsNotATimeAndNamesIt) {
  for (const char* bad : {"", "soon", "+2x", "tomorrow 25:00", "2026-13-01 09:00",
                          "2026-12-01 09:00 extra", "12/01/2026", "next week"}) {
    EXPECT_THAT(When(bad), HasSubstr(absl::StrCat("\"", bad, "\"")));
  }
}

TEST(FormatWhenTest, ShortWeekdayDayMonthAndTheYearOnlyWhenItDiffers) {
  EXPECT_EQ(FormatWhen(At(2026, 12, 1, 9, 0), kZone, kNow), "Tue 1 Dec 09:00");
  EXPECT_EQ(FormatWhen(At(2026, 12, 13, 17, 5), kZone, kNow), "Sun 13 Dec 17:05");
  EXPECT_EQ(FormatWhen(At(2027, 1, 4, 8, 0), kZone, kNow), "Mon 4 Jan 2027 08:00");
}

TEST(FormatWaitedTest, Compact) {
  EXPECT_EQ(FormatWaited(absl::Seconds(30)), "<1m");
  EXPECT_EQ(FormatWaited(absl::Minutes(45)), "45m");
  EXPECT_EQ(FormatWaited(absl::Minutes(3 * 60 + 12)), "3h12m");
  EXPECT_EQ(FormatWaited(absl::Hours(3)), "3h");
  EXPECT_EQ(FormatWaited(absl::Hours(53) + absl::Minutes(7)), "2d5h");
}

TEST(FormatBusinessMinutesTest, HoursWhenWhole) {
  EXPECT_EQ(FormatBusinessMinutes(480), "8 business hours");
  EXPECT_EQ(FormatBusinessMinutes(60), "1 business hour");
  EXPECT_EQ(FormatBusinessMinutes(45), "45 business minutes");
  EXPECT_EQ(FormatBusinessMinutes(450), "7h30m of business hours");
}

TEST(WeekdaysTest, RangesListsAndNames) {
  EXPECT_THAT(*ParseWeekdays("mon-fri"), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(*ParseWeekdays("mon,wed,fri"), ElementsAre(1, 3, 5));
  EXPECT_THAT(*ParseWeekdays("Tuesday,thu-sat"), ElementsAre(2, 4, 5, 6));
  EXPECT_THAT(*ParseWeekdays("sat-mon"), ElementsAre(1, 6, 7));
  EXPECT_THAT(ParseWeekdays("mon-funday").status().message(), HasSubstr("\"mon-funday\""));
  EXPECT_FALSE(ParseWeekdays("").ok());
  EXPECT_FALSE(ParseWeekdays("mo").ok());
}

TEST(WeekdaysTest, PrintedBack) {
  EXPECT_EQ(FormatWeekdays({1, 2, 3, 4, 5}), "Mon-Fri");
  EXPECT_EQ(FormatWeekdays({1, 3, 5}), "Mon, Wed, Fri");
  EXPECT_EQ(FormatWeekdays({1, 2, 4, 5, 6}), "Mon, Tue, Thu-Sat");
}

TEST(DayHoursTest, StartAndEndInMinutes) {
  absl::StatusOr<DayHours> h = ParseDayHours("09:00-17:30");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->start_minute, 540);
  EXPECT_EQ(h->end_minute, 1050);
  EXPECT_EQ(ParseDayHours("9-17")->end_minute, 1020);
  EXPECT_EQ(ParseDayHours("18:00-24:00")->end_minute, 1440);
  EXPECT_THAT(ParseDayHours("17:00-09:00").status().message(), HasSubstr("end after it starts"));
  EXPECT_THAT(ParseDayHours("9am-5pm").status().message(), HasSubstr("\"9am-5pm\""));
  EXPECT_EQ(FormatMinuteOfDay(545), "09:05");
}

}  // namespace
}  // namespace sotto::cli
