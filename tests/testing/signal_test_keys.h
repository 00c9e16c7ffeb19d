#ifndef SOTTO_TESTS_TESTING_SIGNAL_TEST_KEYS_H_
#define SOTTO_TESTS_TESTING_SIGNAL_TEST_KEYS_H_

// Real Signal key material for tests (header-only), made with
// libsignal-protocol-c: an identity key pair, a signed prekey with a real
// XEdDSA signature, and one-time prekeys, all as 33-byte serializations.
//
//   sotto::testing::SignalTestKeys keys;              // fresh identity
//   TestSignedPreKey spk = keys.MakeSignedPreKey(1);
//   std::vector<TestOneTimePreKey> otks = keys.MakeOneTimePreKeys(1, 100);
//
// Key generation and signing need only randomness from the crypto provider
// (checked against libsignal 2.3.3), so the provider here implements
// random_func with OpenSSL RAND_bytes and stubs every other function with an
// error; libsignal refuses a provider with null members. Not thread-safe per
// instance; make one per thread. Link PkgConfig::SIGNAL and OpenSSL::Crypto.

#include <openssl/rand.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <signal/curve.h>
#include <signal/signal_protocol.h>
}

namespace sotto::testing {

struct TestSignedPreKey {
  uint32_t id = 0;
  std::string public_key;  // 33 bytes
  std::string signature;   // 64 bytes over public_key
};

struct TestOneTimePreKey {
  uint32_t id = 0;
  std::string public_key;  // 33 bytes
};

namespace signal_test_keys_internal {

struct ContextDeleter {
  void operator()(signal_context* c) const { signal_context_destroy(c); }
};
// Only for real libsignal types, so a wrong pointer does not compile.
struct KeyPairDeleter {
  void operator()(ec_key_pair* p) const { SIGNAL_UNREF(p); }
};
struct BufferDeleter {
  void operator()(signal_buffer* b) const { signal_buffer_bzero_free(b); }
};
using ContextPtr = std::unique_ptr<signal_context, ContextDeleter>;
using KeyPairPtr = std::unique_ptr<ec_key_pair, KeyPairDeleter>;
using BufferPtr = std::unique_ptr<signal_buffer, BufferDeleter>;

inline int Random(uint8_t* data, size_t len, void*) {
  return RAND_bytes(data, static_cast<int>(len)) == 1 ? 0 : SG_ERR_UNKNOWN;
}
inline int HmacInit(void**, const uint8_t*, size_t, void*) { return SG_ERR_UNKNOWN; }
inline int HmacUpdate(void*, const uint8_t*, size_t, void*) { return SG_ERR_UNKNOWN; }
inline int HmacFinal(void*, signal_buffer**, void*) { return SG_ERR_UNKNOWN; }
inline void HmacCleanup(void*, void*) {}
inline int ShaInit(void**, void*) { return SG_ERR_UNKNOWN; }
inline int ShaUpdate(void*, const uint8_t*, size_t, void*) { return SG_ERR_UNKNOWN; }
inline int ShaFinal(void*, signal_buffer**, void*) { return SG_ERR_UNKNOWN; }
inline void ShaCleanup(void*, void*) {}
inline int Cipher(signal_buffer**, int, const uint8_t*, size_t, const uint8_t*, size_t,
                  const uint8_t*, size_t, void*) {
  return SG_ERR_UNKNOWN;
}

inline void Check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("libsignal: ") + what);
}

inline std::string Serialize(const ec_public_key* key) {
  signal_buffer* raw = nullptr;
  Check(ec_public_key_serialize(&raw, key), "ec_public_key_serialize");
  BufferPtr buf(raw);
  return std::string(reinterpret_cast<const char*>(signal_buffer_data(buf.get())),
                     signal_buffer_len(buf.get()));
}

}  // namespace signal_test_keys_internal

// One device's key material. Throws std::runtime_error if libsignal fails
// (a broken test environment, not a test outcome).
class SignalTestKeys {
 public:
  SignalTestKeys() {
    namespace in = signal_test_keys_internal;
    signal_context* ctx = nullptr;
    in::Check(signal_context_create(&ctx, nullptr), "signal_context_create");
    context_.reset(ctx);
    signal_crypto_provider provider{};
    provider.random_func = in::Random;
    provider.hmac_sha256_init_func = in::HmacInit;
    provider.hmac_sha256_update_func = in::HmacUpdate;
    provider.hmac_sha256_final_func = in::HmacFinal;
    provider.hmac_sha256_cleanup_func = in::HmacCleanup;
    provider.sha512_digest_init_func = in::ShaInit;
    provider.sha512_digest_update_func = in::ShaUpdate;
    provider.sha512_digest_final_func = in::ShaFinal;
    provider.sha512_digest_cleanup_func = in::ShaCleanup;
    provider.encrypt_func = in::Cipher;
    provider.decrypt_func = in::Cipher;
    in::Check(signal_context_set_crypto_provider(context_.get(), &provider),
              "signal_context_set_crypto_provider");
    identity_ = GenerateKeyPair();
    identity_public_ = in::Serialize(ec_key_pair_get_public(identity_.get()));
  }
  SignalTestKeys(const SignalTestKeys&) = delete;
  SignalTestKeys& operator=(const SignalTestKeys&) = delete;

  // The 33-byte serialized identity public key.
  const std::string& identity_key() const { return identity_public_; }

  // A fresh signed prekey, signed by this identity.
  TestSignedPreKey MakeSignedPreKey(uint32_t id) {
    namespace in = signal_test_keys_internal;
    in::KeyPairPtr pair = GenerateKeyPair();
    TestSignedPreKey spk;
    spk.id = id;
    spk.public_key = in::Serialize(ec_key_pair_get_public(pair.get()));
    spk.signature = Sign(spk.public_key);
    return spk;
  }

  // An XEdDSA signature by the identity key over `message`.
  std::string Sign(const std::string& message) {
    namespace in = signal_test_keys_internal;
    signal_buffer* raw = nullptr;
    in::Check(
        curve_calculate_signature(context_.get(), &raw, ec_key_pair_get_private(identity_.get()),
                                  reinterpret_cast<const uint8_t*>(message.data()), message.size()),
        "curve_calculate_signature");
    in::BufferPtr sig(raw);
    return std::string(reinterpret_cast<const char*>(signal_buffer_data(sig.get())),
                       signal_buffer_len(sig.get()));
  }

  // `count` one-time prekeys with ids first_id, first_id+1, ...
  std::vector<TestOneTimePreKey> MakeOneTimePreKeys(uint32_t first_id, size_t count) {
    namespace in = signal_test_keys_internal;
    std::vector<TestOneTimePreKey> out;
    for (size_t i = 0; i < count; ++i) {
      in::KeyPairPtr pair = GenerateKeyPair();
      out.push_back(TestOneTimePreKey{static_cast<uint32_t>(first_id + i),
                                      in::Serialize(ec_key_pair_get_public(pair.get()))});
    }
    return out;
  }

  // A fresh serialized public key not tied to this identity.
  std::string MakePublicKey() { return MakeOneTimePreKeys(1, 1)[0].public_key; }

 private:
  signal_test_keys_internal::KeyPairPtr GenerateKeyPair() {
    namespace in = signal_test_keys_internal;
    ec_key_pair* raw = nullptr;
    in::Check(curve_generate_key_pair(context_.get(), &raw), "curve_generate_key_pair");
    return in::KeyPairPtr(raw);
  }

  // Declared first: destroyed after the keys that were made with it.
  signal_test_keys_internal::ContextPtr context_;
  signal_test_keys_internal::KeyPairPtr identity_;
  std::string identity_public_;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_SIGNAL_TEST_KEYS_H_
