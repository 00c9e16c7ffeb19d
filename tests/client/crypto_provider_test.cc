#include "client-lib/signal/crypto_provider.h"

#include <string>

#include "absl/strings/escaping.h"
#include "client-lib/signal/signal_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::signal {
namespace {

std::string Hex(const signal_buffer* b) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(signal_buffer_const_data(b)), signal_buffer_len(b)));
}
std::string Unhex(absl::string_view hex) { return absl::HexStringToBytes(hex); }
const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

class CryptoProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(crypto_, CryptoProvider::Create());
    p_ = crypto_->provider();
  }

  std::string Hmac(const std::string& key, const std::string& data) {
    void* ctx = nullptr;
    EXPECT_EQ(p_.hmac_sha256_init_func(&ctx, U(key), key.size(), p_.user_data), 0);
    // Two updates: the MAC must cover both.
    const size_t half = data.size() / 2;
    EXPECT_EQ(p_.hmac_sha256_update_func(ctx, U(data), half, p_.user_data), 0);
    EXPECT_EQ(p_.hmac_sha256_update_func(ctx, U(data) + half, data.size() - half, p_.user_data), 0);
    signal_buffer* out = nullptr;
    EXPECT_EQ(p_.hmac_sha256_final_func(ctx, &out, p_.user_data), 0);
    p_.hmac_sha256_cleanup_func(ctx, p_.user_data);
    SignalPtr<signal_buffer> owned(out);
    return Hex(out);
  }

  // Returns hex, or "error <code>".
  std::string Crypt(bool encrypt, int cipher, const std::string& key, const std::string& iv,
                    const std::string& input) {
    signal_buffer* out = nullptr;
    int rc = (encrypt ? p_.encrypt_func : p_.decrypt_func)(
        &out, cipher, U(key), key.size(), U(iv), iv.size(), U(input), input.size(), p_.user_data);
    SignalPtr<signal_buffer> owned(out);
    if (rc != 0) return "error " + std::to_string(rc);
    return Hex(out);
  }

  std::unique_ptr<CryptoProvider> crypto_;
  signal_crypto_provider p_{};
};

TEST_F(CryptoProviderTest, HmacSha256MatchesRfc4231) {
  // Test case 1.
  EXPECT_EQ(Hmac(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2.
  EXPECT_EQ(Hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size.
  EXPECT_EQ(
      Hmac(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_F(CryptoProviderTest, HmacWithEmptyKeyWorks) {
  // HMAC-SHA256("", "") from any reference implementation.
  EXPECT_EQ(Hmac("", ""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_F(CryptoProviderTest, Sha512MatchesFips180AndContextIsReusableAfterFinal) {
  void* ctx = nullptr;
  ASSERT_EQ(p_.sha512_digest_init_func(&ctx, p_.user_data), 0);
  const std::string abc = "abc";
  ASSERT_EQ(p_.sha512_digest_update_func(ctx, U(abc), abc.size(), p_.user_data), 0);
  signal_buffer* first = nullptr;
  ASSERT_EQ(p_.sha512_digest_final_func(ctx, &first, p_.user_data), 0);
  SignalPtr<signal_buffer> first_owned(first);
  EXPECT_EQ(Hex(first),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");

  // Same context again, as libsignal does: a fresh digest, not a continuation.
  const std::string two_block =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmno"
      "pqrsmnopqrstnopqrstu";
  ASSERT_EQ(p_.sha512_digest_update_func(ctx, U(two_block), two_block.size(), p_.user_data), 0);
  signal_buffer* second = nullptr;
  ASSERT_EQ(p_.sha512_digest_final_func(ctx, &second, p_.user_data), 0);
  SignalPtr<signal_buffer> second_owned(second);
  EXPECT_EQ(Hex(second),
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
            "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");

  // And an empty message.
  signal_buffer* third = nullptr;
  ASSERT_EQ(p_.sha512_digest_final_func(ctx, &third, p_.user_data), 0);
  SignalPtr<signal_buffer> third_owned(third);
  EXPECT_EQ(Hex(third),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  p_.sha512_digest_cleanup_func(ctx, p_.user_data);
}

TEST_F(CryptoProviderTest, AesCbcMatchesSp800_38aAndAddsPkcs5Padding) {
  const std::string iv = Unhex("000102030405060708090a0b0c0d0e0f");
  const std::string block = Unhex("6bc1bee22e409f96e93d7e117393172a");
  // F.2.1 (AES-128) and F.2.5 (AES-256): first block; a full padding block follows.
  std::string c128 =
      Crypt(true, SG_CIPHER_AES_CBC_PKCS5, Unhex("2b7e151628aed2a6abf7158809cf4f3c"), iv, block);
  EXPECT_EQ(c128.substr(0, 32), "7649abac8119b246cee98e9b12e9197d");
  EXPECT_EQ(c128.size(), 64u);
  std::string c256 =
      Crypt(true, SG_CIPHER_AES_CBC_PKCS5,
            Unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), iv, block);
  EXPECT_EQ(c256.substr(0, 32), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
}

TEST_F(CryptoProviderTest, AesCtrMatchesSp800_38a) {
  // F.5.1 CTR-AES128.Encrypt, first block.
  EXPECT_EQ(
      Crypt(true, SG_CIPHER_AES_CTR_NOPADDING, Unhex("2b7e151628aed2a6abf7158809cf4f3c"),
            Unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), Unhex("6bc1bee22e409f96e93d7e117393172a")),
      "874d6191b620e3261bef6864990db6ce");
}

TEST_F(CryptoProviderTest, AesRoundTripsForAllKeySizesModesAndLengths) {
  const std::string iv(16, '\x42');
  for (int cipher : {SG_CIPHER_AES_CBC_PKCS5, SG_CIPHER_AES_CTR_NOPADDING}) {
    for (size_t key_len : {16u, 24u, 32u}) {
      const std::string key(key_len, '\x11');
      for (size_t n : {0u, 1u, 15u, 16u, 17u, 100u, 4096u}) {
        const std::string plain(n, 'p');
        const std::string ct = Unhex(Crypt(true, cipher, key, iv, plain));
        const size_t expected = cipher == SG_CIPHER_AES_CBC_PKCS5 ? (n / 16 + 1) * 16 : n;
        EXPECT_EQ(ct.size(), expected);
        EXPECT_EQ(Crypt(false, cipher, key, iv, ct), absl::BytesToHexString(plain))
            << cipher << " " << key_len << " " << n;
      }
    }
  }
}

TEST_F(CryptoProviderTest, BadKeyLengthOrCipherOrPaddingIsAnError) {
  const std::string iv(16, '\0');
  EXPECT_EQ(Crypt(true, SG_CIPHER_AES_CBC_PKCS5, std::string(20, 'k'), iv, "x"),
            "error " + std::to_string(SG_ERR_INVAL));
  EXPECT_EQ(Crypt(true, 99, std::string(16, 'k'), iv, "x"),
            "error " + std::to_string(SG_ERR_INVAL));
  EXPECT_EQ(Crypt(true, SG_CIPHER_AES_CBC_PKCS5, std::string(16, 'k'), "short", "x"),
            "error " + std::to_string(SG_ERR_INVAL));
  // Garbage does not unpad (with overwhelming probability for this input).
  EXPECT_THAT(Crypt(false, SG_CIPHER_AES_CBC_PKCS5, std::string(16, 'k'), iv, std::string(16, 'z')),
              ::testing::StartsWith("error"));
}

TEST_F(CryptoProviderTest, RandomFillsTheBuffer) {
  uint8_t a[32] = {0}, b[32] = {0};
  ASSERT_EQ(p_.random_func(a, sizeof(a), p_.user_data), 0);
  ASSERT_EQ(p_.random_func(b, sizeof(b), p_.user_data), 0);
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), 32),
            std::string(reinterpret_cast<char*>(b), 32));
}

}  // namespace
}  // namespace sotto::client::signal
