// LinkSlots, the in-memory relay of device linking: its memory stays
// bounded however many linkings are open, and expiry frees what it held.

#include "server/domain/link_slots.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/domain/limits.h"

namespace sotto::server {
namespace {

class LinkSlotsTest : public ::testing::Test {
 protected:
  // A slot of a new account `i`, answered by a new device and waiting for
  // the existing device's provisioning ciphertext.
  std::string AnsweredSlot(int i) {
    AuthenticatedDevice owner{absl::StrCat("user", i), 1, Role::kTherapist};
    absl::StatusOr<LinkSlots::Created> slot = slots_.Create(owner);
    EXPECT_TRUE(slot.ok()) << slot.status();
    if (!slot.ok()) return "";
    EXPECT_TRUE(slots_.PostRequest(slot->slot_id, std::string(kLinkKeyBytes, 'k'),
                                   std::string(kLinkMacBytes, 'm'))
                    .ok());
    return slot->slot_id;
  }
  static AuthenticatedDevice Owner(int i) {
    return AuthenticatedDevice{absl::StrCat("user", i), 1, Role::kTherapist};
  }

  FakeClock clock_;
  LinkSlots slots_{&clock_};
};

TEST_F(LinkSlotsTest, AnswersWaitingToBeFetchedHoldAtMostTheRelayCap) {
  const std::string full(kMaxProvisioningBytes, 'c');
  const int fits = static_cast<int>(kMaxLinkRelayBytes / kMaxProvisioningBytes);
  std::string first;
  for (int i = 0; i < fits; ++i) {
    const std::string id = AnsweredSlot(i);
    if (i == 0) first = id;
    ASSERT_TRUE(slots_.PutResponse(Owner(i), id, full).ok()) << "answer " << i;
  }
  EXPECT_EQ(slots_.held_bytes(), kMaxLinkRelayBytes);

  const std::string one_more = AnsweredSlot(fits);
  absl::Status refused = slots_.PutResponse(Owner(fits), one_more, full);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_NE(refused.message().find("retry"), std::string::npos) << refused;

  // A new device fetching its answer makes room, and the refused slot was
  // kept open, so the existing device's retry goes through.
  absl::StatusOr<std::optional<std::string>> fetched = slots_.FetchResponse(first);
  ASSERT_TRUE(fetched.ok() && fetched->has_value()) << fetched.status();
  EXPECT_TRUE(slots_.PutResponse(Owner(fits), one_more, full).ok());
}

TEST_F(LinkSlotsTest, ExpiryAndCancellingFreeTheSlotsAndTheBytes) {
  const std::string kept = AnsweredSlot(0);
  ASSERT_TRUE(slots_.PutResponse(Owner(0), kept, std::string(1000, 'c')).ok());
  clock_.Advance(kLinkSlotTtlMs / 2);
  const std::string cancelled = AnsweredSlot(1);
  ASSERT_TRUE(slots_.PutResponse(Owner(1), cancelled, std::string(500, 'c')).ok());
  ASSERT_TRUE(slots_.Cancel(Owner(1), cancelled).ok());
  EXPECT_EQ(slots_.held_bytes(), 1000u);
  EXPECT_EQ(slots_.size(), 1u);

  clock_.Advance(kLinkSlotTtlMs / 2);
  EXPECT_EQ(slots_.size(), 0u);
  EXPECT_EQ(slots_.held_bytes(), 0u);
  // Gone slots no longer count against their account's open codes.
  for (size_t i = 0; i < kMaxOpenLinkSlotsPerAccount; ++i) {
    EXPECT_TRUE(slots_.Create(Owner(0)).ok()) << "code " << i;
  }
  EXPECT_EQ(slots_.Create(Owner(0)).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sotto::server
