// LinkSlots, the relay of device linking, kept in the store (a real
// RocksDB here; multi_node_state_test.cc runs it on PostgreSQL through two
// nodes): each step is accepted once, an account's open codes are capped,
// and expiry and cancelling free them and leave no rows behind.

#include "server/domain/link_slots.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/domain/limits.h"
#include "server/storage/rocksdb_store.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

class LinkSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenRocksDbStore(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    slots_ = std::make_unique<LinkSlots>(store_.get(), &clock_);
  }

  static AuthenticatedDevice Owner(int i) {
    return AuthenticatedDevice{absl::StrCat("user", i), 1, Role::kTherapist};
  }
  // Rows of `table`.
  size_t Rows(Table table) {
    auto rows = store_->Scan(table, "", "", 1000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? rows->size() : 0;
  }
  static std::string Key() { return std::string(kLinkKeyBytes, 'k'); }
  static std::string Mac() { return std::string(kLinkMacBytes, 'm'); }

  sotto::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LinkSlots> slots_;
};

TEST_F(LinkSlotsTest, EachStepIsAcceptedOnceAndTheTokenAdmitsOnce) {
  absl::StatusOr<LinkSlots::Created> slot = slots_->Create(Owner(0));
  ASSERT_TRUE(slot.ok()) << slot.status();
  // Nothing to read yet, for either side.
  absl::StatusOr<std::optional<LinkSlots::Request>> none = slots_->GetRequest(Owner(0),
                                                                             slot->slot_id);
  ASSERT_TRUE(none.ok() && !none->has_value()) << none.status();
  absl::StatusOr<std::optional<std::string>> nothing = slots_->FetchResponse(slot->slot_id);
  ASSERT_TRUE(nothing.ok() && !nothing->has_value()) << nothing.status();

  ASSERT_TRUE(slots_->PostRequest(slot->slot_id, Key(), Mac()).ok());
  EXPECT_EQ(slots_->PostRequest(slot->slot_id, Key(), Mac()).code(),
            absl::StatusCode::kFailedPrecondition);
  // Another account's device learns nothing of the slot.
  EXPECT_EQ(slots_->GetRequest(Owner(1), slot->slot_id).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::optional<LinkSlots::Request>> posted =
      slots_->GetRequest(Owner(0), slot->slot_id);
  ASSERT_TRUE(posted.ok() && posted->has_value()) << posted.status();
  EXPECT_EQ((*posted)->ephemeral_key, Key());
  EXPECT_EQ((*posted)->mac, Mac());

  ASSERT_TRUE(slots_->PutResponse(Owner(0), slot->slot_id, "sealed").ok());
  EXPECT_EQ(slots_->PutResponse(Owner(0), slot->slot_id, "again").code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::optional<std::string>> fetched = slots_->FetchResponse(slot->slot_id);
  ASSERT_TRUE(fetched.ok() && fetched->has_value()) << fetched.status();
  EXPECT_EQ(**fetched, "sealed");
  EXPECT_EQ(slots_->FetchResponse(slot->slot_id).status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<LinkSlots::Grant> peek = slots_->Peek(slot->link_token);
  ASSERT_TRUE(peek.ok()) << peek.status();
  absl::StatusOr<LinkSlots::Grant> grant = slots_->Redeem(slot->link_token);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->handle, "user0");
  EXPECT_EQ(grant->linked_by, 1u);
  EXPECT_EQ(slots_->Redeem(slot->link_token).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Rows(Table::kLinkSlots), 0u);
  EXPECT_EQ(Rows(Table::kLinkTokens), 0u);
}

TEST_F(LinkSlotsTest, ExpiryAndCancellingFreeTheAccountsCodesAndTheSweepTheRows) {
  absl::StatusOr<LinkSlots::Created> kept = slots_->Create(Owner(0));
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_TRUE(slots_->PostRequest(kept->slot_id, Key(), Mac()).ok());
  ASSERT_TRUE(slots_->PutResponse(Owner(0), kept->slot_id, std::string(1000, 'c')).ok());
  clock_.Advance(kLinkSlotTtlMs / 2);
  absl::StatusOr<LinkSlots::Created> cancelled = slots_->Create(Owner(0));
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  ASSERT_TRUE(slots_->Create(Owner(0)).ok());
  EXPECT_EQ(slots_->Create(Owner(0)).status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(slots_->Cancel(Owner(0), cancelled->slot_id).ok());
  EXPECT_EQ(slots_->Redeem(cancelled->link_token).status().code(),
            absl::StatusCode::kPermissionDenied);
  // The cancelled code no longer counts against the account.
  ASSERT_TRUE(slots_->Create(Owner(0)).ok());
  EXPECT_EQ(slots_->Create(Owner(0)).status().code(), absl::StatusCode::kResourceExhausted);

  clock_.Advance(kLinkSlotTtlMs);
  EXPECT_EQ(slots_->FetchResponse(kept->slot_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(slots_->Peek(kept->link_token).status().code(), absl::StatusCode::kPermissionDenied);
  // Gone slots no longer count against their account's open codes...
  for (size_t i = 0; i < kMaxOpenLinkSlotsPerAccount; ++i) {
    EXPECT_TRUE(slots_->Create(Owner(0)).ok()) << "code " << i;
  }
  EXPECT_EQ(slots_->Create(Owner(0)).status().code(), absl::StatusCode::kResourceExhausted);
  // ...and the sweep deletes their rows, the answer they held included.
  absl::StatusOr<size_t> swept = slots_->SweepExpired();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 3u);
  EXPECT_EQ(Rows(Table::kLinkSlots), kMaxOpenLinkSlotsPerAccount);
  EXPECT_EQ(Rows(Table::kLinkTokens), kMaxOpenLinkSlotsPerAccount);
  clock_.Advance(kLinkSlotTtlMs);
  ASSERT_TRUE(slots_->SweepExpired().ok());
  EXPECT_EQ(Rows(Table::kLinkSlots), 0u);
  EXPECT_EQ(Rows(Table::kLinkTokens), 0u);
  EXPECT_EQ(Rows(Table::kOpenByAccount), 0u);
}

TEST_F(LinkSlotsTest, MalformedIdsAndTokensAreRefusedNamingTheField) {
  EXPECT_EQ(slots_->PostRequest("short", Key(), Mac()).code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<LinkSlots::Created> slot = slots_->Create(Owner(0));
  ASSERT_TRUE(slot.ok()) << slot.status();
  absl::Status bad_key = slots_->PostRequest(slot->slot_id, "k", Mac());
  EXPECT_EQ(bad_key.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_key.message().find("ephemeral_public_key"), std::string::npos) << bad_key;
  absl::Status bad_token = slots_->Redeem("t").status();
  EXPECT_NE(bad_token.message().find("link_token"), std::string::npos) << bad_token;
  ASSERT_TRUE(slots_->PostRequest(slot->slot_id, Key(), Mac()).ok());
  EXPECT_EQ(slots_->PutResponse(Owner(0), slot->slot_id,
                                std::string(kMaxProvisioningBytes + 1, 'c')).code(),
            absl::StatusCode::kInvalidArgument);
  // What was stored is still there.
  absl::StatusOr<std::optional<LinkSlots::Request>> posted =
      slots_->GetRequest(Owner(0), slot->slot_id);
  ASSERT_TRUE(posted.ok() && posted->has_value()) << posted.status();
}

}  // namespace
}  // namespace sotto::server
