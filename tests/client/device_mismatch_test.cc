// The DeviceMismatch a refused Send carries is checked before the client
// deletes sessions or fetches bundles for the devices it names (issue 22:
// input from the server is untrusted too).

#include "client-lib/transport/device_mismatch.h"

#include <string>

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::transport {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The serialized google.rpc.Status the server sends (server/rpc/status_mapping.cc).
std::string Details(const v1::DeviceMismatch& mismatch) {
  google::rpc::Status status;
  status.set_code(9);  // FAILED_PRECONDITION
  status.set_message("devices changed");
  status.add_details()->PackFrom(mismatch);
  return status.SerializeAsString();
}

// "none", "mismatch" or the error, so that an expectation fits one line.
std::string Shown(const absl::StatusOr<std::optional<v1::DeviceMismatch>>& parsed) {
  if (!parsed.ok()) return parsed.status().ToString();
  return parsed->has_value() ? "mismatch" : "none";
}

v1::DeviceMismatch Mismatch(const std::string& user) {
  v1::DeviceMismatch m;
  m.set_user(user);
  m.add_missing_devices(2);
  m.add_extra_devices(3);
  m.add_stale_devices(1);
  return m;
}

TEST(DeviceMismatchTest, TheServersMismatchForTheRecipientIsReadBack) {
  auto parsed = ParseDeviceMismatch(Details(Mismatch("sam-client")), "sam-client");
  ASSERT_THAT(parsed, IsOk());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_THAT((*parsed)->missing_devices(), ElementsAre(2u));
  EXPECT_THAT((*parsed)->extra_devices(), ElementsAre(3u));
  EXPECT_THAT((*parsed)->stale_devices(), ElementsAre(1u));
}

TEST(DeviceMismatchTest, AnOrdinaryRefusalIsNoMismatch) {
  google::rpc::Status plain;
  plain.set_code(9);
  EXPECT_EQ(Shown(ParseDeviceMismatch(plain.SerializeAsString(), "sam-client")), "none");
  EXPECT_EQ(Shown(ParseDeviceMismatch("", "sam-client")), "none");
  EXPECT_EQ(Shown(ParseDeviceMismatch("\xff\xff", "sam-client")), "none");
}

TEST(DeviceMismatchTest, AMismatchAboutAnotherPersonIsRefused) {
  EXPECT_THAT(ParseDeviceMismatch(Details(Mismatch("dr-rivera")), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("\"dr-rivera\", not the recipient")));
  EXPECT_THAT(ParseDeviceMismatch(Details(Mismatch("sam-client\x1b[2J")), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("sam-client\\x1b[2J")));
}

TEST(DeviceMismatchTest, ImpossibleDeviceListsAreRefused) {
  v1::DeviceMismatch zero = Mismatch("sam-client");
  zero.add_missing_devices(0);
  EXPECT_THAT(ParseDeviceMismatch(Details(zero), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("device 0")));

  v1::DeviceMismatch twice = Mismatch("sam-client");
  twice.add_stale_devices(2);  // also missing
  EXPECT_THAT(ParseDeviceMismatch(Details(twice), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("device 2 twice")));

  v1::DeviceMismatch many;
  many.set_user("sam-client");
  for (uint32_t d = 1; d <= kMaxMismatchDevices + 1; ++d) many.add_missing_devices(d);
  EXPECT_THAT(ParseDeviceMismatch(Details(many), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("17 missing devices")));

  v1::DeviceMismatch none;
  none.set_user("sam-client");
  EXPECT_THAT(ParseDeviceMismatch(Details(none), "sam-client"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("names no device")));
}

}  // namespace
}  // namespace sotto::client::transport
