#include "server/domain/accounts.h"

#include "gmock/gmock.h"
#include "tests/server/domain_fixture.h"

namespace sotto::server {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class AccountsTest : public DomainTest {
 protected:
  Registration Valid(const std::string& handle) {
    Registration reg;
    reg.handle = handle;
    reg.role = Role::kTherapist;
    reg.device_secret = Secret('s');
    reg.registration_id = 42;
    reg.keys = MakeDeviceKeys(signal_keys_[handle], 3);
    return reg;
  }
};

TEST_F(AccountsTest, RegisteredDeviceAuthenticatesWithItsSecret) {
  ASSERT_OK_AND_ASSIGN(uint32_t device, accounts_->Register(Valid("dr-ana")));
  EXPECT_EQ(device, 1u);
  ASSERT_OK_AND_ASSIGN(AuthenticatedDevice who, accounts_->Authenticate("dr-ana", 1, Secret('s')));
  EXPECT_EQ(who.handle, "dr-ana");
  EXPECT_EQ(who.device_id, 1u);
  EXPECT_EQ(who.role, Role::kTherapist);
  ASSERT_OK_AND_ASSIGN(AccountInfo info, accounts_->WhoAmI(who));
  EXPECT_THAT(info.device_ids, ElementsAre(1u));
}

TEST_F(AccountsTest, TakenHandleIsAlreadyExists) {
  ASSERT_OK(accounts_->Register(Valid("dr-ana")).status());
  EXPECT_THAT(accounts_->Register(Valid("dr-ana")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("dr-ana")));
}

TEST_F(AccountsTest, WrongSecretUnknownDeviceAndUnknownHandleLookTheSame) {
  ASSERT_OK(accounts_->Register(Valid("dr-ana")).status());
  auto wrong_secret = accounts_->Authenticate("dr-ana", 1, Secret('x'));
  auto unknown_device = accounts_->Authenticate("dr-ana", 2, Secret('s'));
  auto unknown_handle = accounts_->Authenticate("nobody", 1, Secret('s'));
  EXPECT_THAT(wrong_secret, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(wrong_secret.status(), unknown_device.status());
  EXPECT_EQ(wrong_secret.status(), unknown_handle.status());
  EXPECT_THAT(std::string(unknown_handle.status().message()), Not(HasSubstr("nobody")));
}

TEST_F(AccountsTest, SecretIsNotStoredInTheClear) {
  ASSERT_OK(accounts_->Register(Valid("dr-ana")).status());
  ASSERT_OK_AND_ASSIGN(auto rows, store_->Scan(Table::kDevices, "", "", 100));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value.find(Secret('s')), std::string::npos);
}

TEST_F(AccountsTest, InvalidRegistrationsNameTheField) {
  struct Case {
    const char* name;
    std::function<void(Registration&)> mutate;
    const char* field;
  };
  std::vector<Case> cases = {
      {"short handle", [](Registration& r) { r.handle = "ab"; }, "handle"},
      {"long handle", [](Registration& r) { r.handle = std::string(33, 'a'); }, "handle"},
      {"digit first", [](Registration& r) { r.handle = "1abc"; }, "handle"},
      {"upper case", [](Registration& r) { r.handle = "Anna"; }, "handle"},
      {"no role", [](Registration& r) { r.role = Role::kUnspecified; }, "role"},
      {"short secret", [](Registration& r) { r.device_secret = "abc"; }, "device_secret"},
      {"registration id 0", [](Registration& r) { r.registration_id = 0; }, "registration_id"},
      {"registration id 16381", [](Registration& r) { r.registration_id = 16381; },
       "registration_id"},
      {"identity 32 bytes", [](Registration& r) { r.keys.identity_key.resize(32); },
       "identity_key"},
      {"identity type 6", [](Registration& r) { r.keys.identity_key[0] = 6; }, "identity_key"},
      {"no signed prekey", [](Registration& r) { r.keys.signed_prekey.reset(); }, "signed_prekey"},
      {"bad signature", [](Registration& r) { r.keys.signed_prekey->signature[5] ^= 1; },
       "signed prekey signature does not verify"},
      {"prekey id 0", [](Registration& r) { r.keys.one_time_prekeys[0].id = 0; },
       "one_time_prekeys[0]"},
  };
  for (Case& c : cases) {
    Registration reg = Valid("dr-ana");
    c.mutate(reg);
    EXPECT_THAT(accounts_->Register(reg),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.name;
  }
  // Nothing was created by the rejected attempts.
  EXPECT_THAT(accounts_->Devices("dr-ana"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AccountsTest, AddedDevicesAreListedInOrderUpToTheLimit) {
  AuthenticatedDevice ana = Register("ana");
  for (uint32_t i = 2; i <= kMaxDevicesPerUser; ++i) {
    EXPECT_EQ(AddDevice(ana, 200 + i).device_id, i);
  }
  sotto::testing::SignalTestKeys keys;
  EXPECT_THAT(accounts_->AddDevice(ana, Secret('d'), 5, MakeDeviceKeys(keys, 0)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK_AND_ASSIGN(auto devices, accounts_->Devices("ana"));
  ASSERT_EQ(devices.size(), kMaxDevicesPerUser);
  EXPECT_EQ(devices[1].registration_id, 202u);
  EXPECT_OK(accounts_->Authenticate("ana", 16, Secret('d')).status());
}

}  // namespace
}  // namespace sotto::server
