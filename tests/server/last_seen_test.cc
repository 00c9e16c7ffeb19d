// LastSeen: what the operator's `users` and Devices.List show of when an
// account and its devices last called.

#include "server/domain/last_seen.h"

#include "gtest/gtest.h"

namespace sotto::server {
namespace {

constexpr int64_t kHour = LastSeen::kHourMs;

TEST(LastSeenTest, ForgettingAHandleForgetsEveryDeviceHoweverHighItsId) {
  LastSeen seen;
  seen.Saw("ana", 5 * kHour + 1);
  // Device ids are never reused, so a long-lived account's ids pass 64.
  for (uint32_t d : {1u, 64u, 65u, 1000u}) seen.SawDevice("ana", d, 5 * kHour + 1);
  seen.SawDevice("anab", 65, 5 * kHour);
  seen.Forget("ana");
  EXPECT_FALSE(seen.HourOf("ana").has_value());
  for (uint32_t d : {1u, 64u, 65u, 1000u}) {
    EXPECT_FALSE(seen.DeviceHourOf("ana", d).has_value()) << "device " << d;
  }
  // Another handle that merely starts the same keeps its hours.
  EXPECT_EQ(seen.DeviceHourOf("anab", 65), 5 * kHour);
}

TEST(LastSeenTest, ForgettingADeviceKeepsTheOthers) {
  LastSeen seen;
  seen.SawDevice("ana", 1, 3 * kHour);
  seen.SawDevice("ana", 2, 4 * kHour);
  seen.ForgetDevice("ana", 2);
  EXPECT_EQ(seen.DeviceHourOf("ana", 1), 3 * kHour);
  EXPECT_FALSE(seen.DeviceHourOf("ana", 2).has_value());
}

}  // namespace
}  // namespace sotto::server
