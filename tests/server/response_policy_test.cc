#include "server/domain/response_policy.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::server {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

// Calendar used below (2024): Mon 8 Jan … Sun 14 Jan; US DST starts Sun
// 10 Mar and ends Sun 3 Nov.

ResponsePolicy PolicyIn(const std::string& zone) {
  ResponsePolicy p = DefaultPolicy();
  p.time_zone = zone;
  return p;
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

// Unix ms of local time "YYYY-MM-DD HH:MM" in `zone`.
int64_t Ms(const std::string& zone, const std::string& local) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime("%Y-%m-%d %H:%M", local, Zone(zone), &t, &err)) << err;
  return absl::ToUnixMillis(t);
}

// The due time for a message arriving at local time `arrival`, as local time
// in the policy's zone ("Tue 2024-01-09 10:00 UTC"), or the error.
std::string Due(const ResponsePolicy& policy, const std::string& arrival) {
  absl::StatusOr<int64_t> due = ReplyDueMs(policy, Ms(policy.time_zone, arrival));
  if (!due.ok()) return due.status().ToString();
  return absl::FormatTime("%a %Y-%m-%d %H:%M %Z", absl::FromUnixMillis(*due),
                          Zone(policy.time_zone));
}

TEST(ResponsePolicyTest, DefaultIsUtcWeekdaysNineToFiveEightHoursAndValid) {
  ResponsePolicy p = DefaultPolicy();
  EXPECT_EQ(p.time_zone, "UTC");
  EXPECT_EQ(p.working_days, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(p.day_start_minute, 540);
  EXPECT_EQ(p.day_end_minute, 1020);
  EXPECT_EQ(p.reply_window_minutes, 480);
  EXPECT_EQ(p.away_from_ms, 0);
  EXPECT_EQ(p.away_until_ms, 0);
  EXPECT_THAT(ValidatePolicy(p), IsOk());
}

TEST(ReplyDueTest, MondayMorningMessageIsDueTuesdaySameTime) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-08 10:00"), "Tue 2024-01-09 10:00 UTC");
}

TEST(ReplyDueTest, FridayAfternoonMessageSkipsTheWeekend) {
  // 60 minutes on Friday, 420 on Monday.
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-12 16:00"), "Mon 2024-01-15 16:00 UTC");
}

TEST(ReplyDueTest, SaturdayMessageCountsFromMondayMorning) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-13 11:30"), "Mon 2024-01-15 17:00 UTC");
}

TEST(ReplyDueTest, EveningMessageCountsFromNextMorning) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-08 20:15"), "Tue 2024-01-09 17:00 UTC");
}

TEST(ReplyDueTest, MessageAtClosingTimeCountsFromNextMorning) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-08 17:00"), "Tue 2024-01-09 17:00 UTC");
}

TEST(ReplyDueTest, EarlyMorningMessageCountsFromOpeningTheSameDay) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-08 07:00"), "Mon 2024-01-08 17:00 UTC");
}

TEST(ReplyDueTest, WindowThatFillsTheDayIsDueAtClosingTime) {
  EXPECT_EQ(Due(DefaultPolicy(), "2024-01-08 09:00"), "Mon 2024-01-08 17:00 UTC");
}

TEST(ReplyDueTest, MillisecondsOfTheArrivalCarryThrough) {
  ResponsePolicy p = DefaultPolicy();
  const int64_t start = Ms("UTC", "2024-01-08 10:00") + 1234;
  EXPECT_EQ(ReplyDueMs(p, start).value_or(-1), Ms("UTC", "2024-01-09 10:00") + 1234);
}

TEST(ReplyDueTest, AwayPeriodCoveringTuesdayAndWednesdayShiftsDueToThursday) {
  ResponsePolicy p = DefaultPolicy();
  p.away_from_ms = Ms("UTC", "2024-01-09 00:00");
  p.away_until_ms = Ms("UTC", "2024-01-11 00:00");
  // Monday 10:00–17:00 counts 420 minutes; the last 60 fall on Thursday.
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Thu 2024-01-11 10:00 UTC");
}

TEST(ReplyDueTest, AwayPeriodStartingMidWindowPausesTheCount) {
  ResponsePolicy p = DefaultPolicy();
  p.away_from_ms = Ms("UTC", "2024-01-08 14:00");
  p.away_until_ms = Ms("UTC", "2024-01-09 12:00");
  // Monday 10:00–14:00 is 240 minutes; Tuesday resumes at 12:00 for 240 more.
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Tue 2024-01-09 16:00 UTC");
}

TEST(ReplyDueTest, MessageArrivingDuringAwayCountsFromTheReturn) {
  ResponsePolicy p = DefaultPolicy();
  p.away_from_ms = Ms("UTC", "2024-01-05 09:00");
  p.away_until_ms = Ms("UTC", "2024-01-10 13:30");
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Thu 2024-01-11 13:30 UTC");
}

TEST(ReplyDueTest, AwayPeriodAlreadyOverChangesNothing) {
  ResponsePolicy p = DefaultPolicy();
  p.away_from_ms = Ms("UTC", "2024-01-01 00:00");
  p.away_until_ms = Ms("UTC", "2024-01-08 10:00");
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Tue 2024-01-09 10:00 UTC");
}

TEST(ReplyDueTest, NewYorkPolicyRunsFiveHoursBehindUtcInWinter) {
  const int64_t utc_due = ReplyDueMs(PolicyIn("UTC"), Ms("UTC", "2024-01-08 10:00")).value_or(-1);
  const int64_t ny_due =
      ReplyDueMs(PolicyIn("America/New_York"), Ms("America/New_York", "2024-01-08 10:00"))
          .value_or(-1);
  EXPECT_EQ(utc_due, Ms("UTC", "2024-01-09 10:00"));
  EXPECT_EQ(ny_due - utc_due, int64_t{5} * 3600 * 1000);
  EXPECT_EQ(Due(PolicyIn("America/New_York"), "2024-01-08 10:00"), "Tue 2024-01-09 10:00 EST");
}

TEST(ReplyDueTest, SameInstantIsDueAtDifferentMomentsInDifferentZones) {
  // 14:00 UTC Monday is 09:00 in New York: the whole window fits there
  // today, while London has 180 minutes left and finishes on Tuesday.
  const int64_t start = Ms("UTC", "2024-01-08 14:00");
  EXPECT_EQ(ReplyDueMs(PolicyIn("Europe/London"), start).value_or(-1),
            Ms("UTC", "2024-01-09 14:00"));
  EXPECT_EQ(ReplyDueMs(PolicyIn("America/New_York"), start).value_or(-1),
            Ms("UTC", "2024-01-08 22:00"));
}

TEST(ReplyDueTest, SpringForwardWeekendKeepsLocalNineToFive) {
  // Friday is EST (UTC-5), Monday EDT (UTC-4); the due time is still local
  // 16:00, one real hour earlier in UTC than a fixed offset would give.
  ResponsePolicy p = PolicyIn("America/New_York");
  EXPECT_EQ(Due(p, "2024-03-08 16:00"), "Mon 2024-03-11 16:00 EDT");
  EXPECT_EQ(ReplyDueMs(p, Ms("America/New_York", "2024-03-08 16:00")).value_or(-1),
            Ms("UTC", "2024-03-11 20:00"));
}

TEST(ReplyDueTest, FallBackWeekendKeepsLocalNineToFive) {
  ResponsePolicy p = PolicyIn("America/New_York");
  // Friday is EDT (UTC-4), Monday EST (UTC-5).
  EXPECT_EQ(Due(p, "2024-11-01 16:00"), "Mon 2024-11-04 16:00 EST");
  EXPECT_EQ(ReplyDueMs(p, Ms("America/New_York", "2024-11-01 16:00")).value_or(-1),
            Ms("UTC", "2024-11-04 21:00"));
}

TEST(ReplyDueTest, SpringForwardDayCountsOnlyItsTwentyThreeRealHours) {
  ResponsePolicy p = PolicyIn("America/New_York");
  p.working_days = {7};
  p.day_start_minute = 0;
  p.day_end_minute = 1440;
  p.reply_window_minutes = 1440;
  // 1380 minutes on Sunday 10 March; the remaining 60 the next Sunday.
  EXPECT_EQ(Due(p, "2024-03-10 00:00"), "Sun 2024-03-17 01:00 EDT");
}

TEST(ReplyDueTest, FallBackDayCountsAllTwentyFiveRealHours) {
  ResponsePolicy p = PolicyIn("America/New_York");
  p.working_days = {7};
  p.day_start_minute = 0;
  p.day_end_minute = 1440;
  p.reply_window_minutes = 1440;
  // 1440 real minutes after 00:00 EDT is 23:00 EST the same day.
  EXPECT_EQ(Due(p, "2024-11-03 00:00"), "Sun 2024-11-03 23:00 EST");
}

TEST(ReplyDueTest, WindowInsideTheSkippedHourHasNoMinutesThatDay) {
  ResponsePolicy p = PolicyIn("America/New_York");
  p.working_days = {7};
  p.day_start_minute = 120;  // 02:00–03:00 does not exist on 10 March
  p.day_end_minute = 180;
  p.reply_window_minutes = 60;
  EXPECT_EQ(Due(p, "2024-03-09 12:00"), "Sun 2024-03-17 03:00 EDT");
}

TEST(ReplyDueTest, WindowAroundTheRepeatedHourCountsBothPasses) {
  ResponsePolicy p = PolicyIn("America/New_York");
  p.working_days = {7};
  p.day_start_minute = 60;  // 01:00–02:00 happens twice on 3 November
  p.day_end_minute = 120;
  p.reply_window_minutes = 120;
  EXPECT_EQ(Due(p, "2024-11-02 12:00"), "Sun 2024-11-03 02:00 EST");
}

TEST(ReplyDueTest, TuesdayThursdayPolicyWaitsForTheNextWorkingDay) {
  ResponsePolicy p = DefaultPolicy();
  p.working_days = {4, 2};
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Tue 2024-01-09 17:00 UTC");
  // Tuesday 12:00–17:00 is 300 minutes; 180 more on Thursday.
  EXPECT_EQ(Due(p, "2024-01-09 12:00"), "Thu 2024-01-11 12:00 UTC");
  EXPECT_EQ(Due(p, "2024-01-11 16:00"), "Tue 2024-01-16 16:00 UTC");
}

TEST(ReplyDueTest, WindowSpanningSeveralDaysCrossesTheWeekend) {
  ResponsePolicy p = DefaultPolicy();
  p.reply_window_minutes = 5 * 480;
  EXPECT_EQ(Due(p, "2024-01-08 10:00"), "Mon 2024-01-15 10:00 UTC");
  p.reply_window_minutes = 43200;  // 90 business days
  EXPECT_EQ(Due(p, "2024-01-08 09:00"), "Fri 2024-05-10 17:00 UTC");
}

TEST(ReplyDueTest, CustomHoursAreLocalToTheZone) {
  ResponsePolicy p = PolicyIn("Asia/Tokyo");
  p.day_start_minute = 13 * 60;
  p.day_end_minute = 21 * 60 + 30;
  p.reply_window_minutes = 60;
  EXPECT_EQ(Due(p, "2024-01-08 21:00"), "Tue 2024-01-09 13:30 JST");
}

TEST(ReplyDueTest, AwayPeriodLongerThanFiveYearsGivesUpWithInternal) {
  ResponsePolicy p = DefaultPolicy();
  p.away_from_ms = Ms("UTC", "2024-01-01 00:00");
  p.away_until_ms = Ms("UTC", "2030-01-01 00:00");
  EXPECT_THAT(ReplyDueMs(p, Ms("UTC", "2024-01-08 10:00")), StatusIs(absl::StatusCode::kInternal));
}

TEST(ReplyDueTest, RefusesInvalidPolicyAndStart) {
  ResponsePolicy p = DefaultPolicy();
  EXPECT_THAT(ReplyDueMs(p, -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start_ms")));
  p.working_days.clear();
  EXPECT_THAT(ReplyDueMs(p, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("working_days")));
}

struct BadPolicyCase {
  std::string name;
  std::function<void(ResponsePolicy&)> mutate;
  std::string field;
};

TEST(ValidatePolicyTest, ErrorsNameTheField) {
  const std::vector<BadPolicyCase> cases = {
      {"unknown zone", [](ResponsePolicy& p) { p.time_zone = "Mars/Olympus_Mons"; }, "time_zone"},
      {"empty zone", [](ResponsePolicy& p) { p.time_zone = ""; }, "time_zone"},
      {"server-local zone", [](ResponsePolicy& p) { p.time_zone = "localtime"; }, "time_zone"},
      {"path in zone", [](ResponsePolicy& p) { p.time_zone = "../../etc/passwd"; }, "time_zone"},
      {"no days", [](ResponsePolicy& p) { p.working_days.clear(); }, "working_days"},
      {"day 0",
       [](ResponsePolicy& p) {
         p.working_days = {0, 1};
       },
       "working_days"},
      {"day 8", [](ResponsePolicy& p) { p.working_days = {8}; }, "working_days"},
      {"repeated day",
       [](ResponsePolicy& p) {
         p.working_days = {1, 3, 1};
       },
       "working_days"},
      {"start < 0", [](ResponsePolicy& p) { p.day_start_minute = -1; }, "day_start_minute"},
      {"start > 1440", [](ResponsePolicy& p) { p.day_start_minute = 1441; }, "day_start_minute"},
      {"end > 1440", [](ResponsePolicy& p) { p.day_end_minute = 1441; }, "day_end_minute"},
      {"end == start", [](ResponsePolicy& p) { p.day_end_minute = 540; }, "day_end_minute"},
      {"end < start", [](ResponsePolicy& p) { p.day_end_minute = 500; }, "day_end_minute"},
      {"window 0", [](ResponsePolicy& p) { p.reply_window_minutes = 0; }, "reply_window_minutes"},
      {"window too long", [](ResponsePolicy& p) { p.reply_window_minutes = 43201; },
       "reply_window_minutes"},
      {"only from", [](ResponsePolicy& p) { p.away_from_ms = 1000; }, "away_until_ms"},
      {"only until", [](ResponsePolicy& p) { p.away_until_ms = 1000; }, "away_from_ms"},
      {"until == from",
       [](ResponsePolicy& p) {
         p.away_from_ms = 5000;
         p.away_until_ms = 5000;
       },
       "away_until_ms"},
      {"until < from",
       [](ResponsePolicy& p) {
         p.away_from_ms = 5000;
         p.away_until_ms = 4000;
       },
       "away_until_ms"},
      {"note too long", [](ResponsePolicy& p) { p.away_note = std::string(501, 'x'); },
       "away_note"},
  };
  for (const BadPolicyCase& c : cases) {
    ResponsePolicy p = DefaultPolicy();
    c.mutate(p);
    EXPECT_THAT(ValidatePolicy(p), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.name;
  }
}

TEST(ValidatePolicyTest, AcceptsTheEdgesOfEachRange) {
  ResponsePolicy p = PolicyIn("America/New_York");
  p.working_days = {7, 1, 2, 3, 4, 5, 6};
  p.day_start_minute = 0;
  p.day_end_minute = 1440;
  p.reply_window_minutes = 43200;
  p.away_from_ms = 1;
  p.away_until_ms = 2;
  p.away_note = std::string(500, 'x');
  EXPECT_THAT(ValidatePolicy(p), IsOk());
  p.reply_window_minutes = 1;
  EXPECT_THAT(ValidatePolicy(p), IsOk());
}

ResponsePolicy FullPolicy() {
  ResponsePolicy p;
  p.time_zone = "America/New_York";
  p.working_days = {2, 4, 6};
  p.day_start_minute = 480;
  p.day_end_minute = 1200;
  p.reply_window_minutes = 720;
  p.away_from_ms = 1701388800000;
  p.away_until_ms = 1701993600000;
  p.away_note = "Back on 3 December; Dr. Lee covers.";
  return p;
}

bool SamePolicy(const ResponsePolicy& a, const ResponsePolicy& b) {
  return a.time_zone == b.time_zone && a.working_days == b.working_days &&
         a.day_start_minute == b.day_start_minute && a.day_end_minute == b.day_end_minute &&
         a.reply_window_minutes == b.reply_window_minutes && a.away_from_ms == b.away_from_ms &&
         a.away_until_ms == b.away_until_ms && a.away_note == b.away_note;
}

TEST(PolicyCodecTest, RoundTripsEveryField) {
  for (const ResponsePolicy& p : {FullPolicy(), DefaultPolicy()}) {
    const std::string bytes = EncodePolicy(p);
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes[0], '\x01') << "version byte first";
    absl::StatusOr<ResponsePolicy> back = DecodePolicy(bytes);
    ASSERT_THAT(back, IsOk());
    EXPECT_TRUE(SamePolicy(*back, p));
  }
}

TEST(PolicyCodecTest, EncodingIsStable) {
  // Stored bytes must not change across releases; this pins version 1.
  const std::string expected(
      "\x01"
      "\x00\x00\x00\x03UTC"
      "\x00\x00\x00\x05\x01\x02\x03\x04\x05"
      "\x00\x00\x02\x1c"
      "\x00\x00\x03\xfc"
      "\x00\x00\x01\xe0"
      "\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00",
      49);
  EXPECT_EQ(EncodePolicy(DefaultPolicy()), expected);
}

TEST(PolicyCodecTest, CorruptBytesAreDataLoss) {
  const std::string good = EncodePolicy(FullPolicy());
  EXPECT_THAT(DecodePolicy(""), StatusIs(absl::StatusCode::kDataLoss));
  for (size_t n = 1; n < good.size(); ++n) {
    EXPECT_THAT(DecodePolicy(good.substr(0, n)), StatusIs(absl::StatusCode::kDataLoss))
        << "truncated to " << n;
  }
  EXPECT_THAT(DecodePolicy(good + "x"), StatusIs(absl::StatusCode::kDataLoss));

  std::string wrong_version = good;
  wrong_version[0] = '\x02';
  EXPECT_THAT(DecodePolicy(wrong_version),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("version")));

  ResponsePolicy bad_day = FullPolicy();
  bad_day.working_days = {9};
  EXPECT_THAT(DecodePolicy(EncodePolicy(bad_day)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("working_days")));

  ResponsePolicy bad_hours = FullPolicy();
  bad_hours.day_end_minute = 100;
  EXPECT_THAT(DecodePolicy(EncodePolicy(bad_hours)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("day_end_minute")));

  // A flipped bit in the window's top byte makes it huge, not negative.
  std::string flipped = EncodePolicy(DefaultPolicy());
  flipped[1 + 4 + 3 + 4 + 5 + 4 + 4] = '\x80';
  EXPECT_THAT(DecodePolicy(flipped),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("reply_window_minutes")));
}

}  // namespace
}  // namespace sotto::server
