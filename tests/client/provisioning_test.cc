// The cryptography of linking a device (client-lib/devices/provisioning.h):
// the code round-trips and names typos; the ephemeral key's MAC holds only
// with the code's secret; the provisioning message opens only with the
// code's secret and the key the new device posted, and not after any byte
// of it changed.

#include "client-lib/devices/provisioning.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::devices {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

LinkCode Code(char secret = 's') { return LinkCode{std::string(16, 'i'), std::string(16, secret)}; }

TEST(ProvisioningTest, HkdfMatchesRfc5869TestCase1) {
  const std::string ikm(22, '\x0b');
  const std::string salt = absl::HexStringToBytes("000102030405060708090a0b0c");
  const std::string info = absl::HexStringToBytes("f0f1f2f3f4f5f6f7f8f9");
  EXPECT_EQ(absl::BytesToHexString(Hkdf32(salt, ikm, info)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
}

TEST(ProvisioningTest, CodeRoundTripsInAnyCaseWithOrWithoutDashes) {
  const std::string text = FormatLinkCode(Code());
  EXPECT_THAT(text, StartsWith("sotto-link-"));
  ASSERT_OK_AND_ASSIGN(LinkCode back, ParseLinkCode(text));
  EXPECT_EQ(back.slot_id, Code().slot_id);
  EXPECT_EQ(back.secret, Code().secret);
  std::string shouted = text;
  for (char& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  shouted.erase(std::remove(shouted.begin(), shouted.end(), '-'), shouted.end());
  ASSERT_OK_AND_ASSIGN(LinkCode again, ParseLinkCode(shouted));
  EXPECT_EQ(again.secret, Code().secret);
}

TEST(ProvisioningTest, AMistypedCodeSaysWhat) {
  std::string text = FormatLinkCode(Code());
  EXPECT_THAT(ParseLinkCode(text.substr(0, text.size() - 5)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too short")));
  text[15] = '1';
  EXPECT_THAT(ParseLinkCode(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contains '1'")));
}

TEST(ProvisioningTest, TheRequestMacHoldsOnlyWithTheCodesSecret) {
  EphemeralKey key;
  const std::string mac = RequestMac(Code(), key.public_key());
  EXPECT_TRUE(CheckRequestMac(Code(), key.public_key(), mac));
  EXPECT_FALSE(CheckRequestMac(Code('x'), key.public_key(), mac));
  EphemeralKey other;
  EXPECT_FALSE(CheckRequestMac(Code(), other.public_key(), mac));
  EXPECT_FALSE(CheckRequestMac(Code(), key.public_key(), mac.substr(1)));
}

TEST(ProvisioningTest, SealedMessageOpensOnlyForTheCodeAndThePostedKey) {
  EphemeralKey new_device;
  ASSERT_OK_AND_ASSIGN(std::string sealed,
                       SealProvisioning(Code(), new_device.public_key(), "the account's keys"));
  EXPECT_EQ(sealed.find("the account's keys"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::string opened, OpenProvisioning(Code(), new_device, sealed));
  EXPECT_EQ(opened, "the account's keys");
  // A server without S cannot open it, nor make one that opens.
  EXPECT_THAT(OpenProvisioning(Code('x'), new_device, sealed),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("substituted")));
  ASSERT_OK_AND_ASSIGN(std::string forged,
                       SealProvisioning(Code('x'), new_device.public_key(), "forged keys"));
  EXPECT_THAT(OpenProvisioning(Code(), new_device, forged), StatusIs(absl::StatusCode::kDataLoss));
  EphemeralKey someone_else;
  EXPECT_THAT(OpenProvisioning(Code(), someone_else, sealed),
              StatusIs(absl::StatusCode::kDataLoss));
  for (size_t i = 1; i < sealed.size(); i += 7) {
    std::string flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(OpenProvisioning(Code(), new_device, flipped).ok()) << "byte " << i;
  }
  EXPECT_THAT(OpenProvisioning(Code(), new_device, sealed.substr(0, 20)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too short")));
}

}  // namespace
}  // namespace sotto::client::devices
