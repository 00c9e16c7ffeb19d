// Fuzzes session start from a prekey bundle the server hands out (which a
// hostile server controls entirely): Engine::ProcessBundle with fuzzed
// identity key, signed prekey, signature, one-time prekey and ids, on a
// memory store. The seeds are real bundles, so mutation starts from a bundle
// that verifies.
//
// Invariants: ProcessBundle either creates a session (then HasSession is
// true, the identity is now trusted for the device, and Encrypt gives a
// kPreKey message) or refuses with INVALID_ARGUMENT / FAILED_PRECONDITION
// and leaves no session and no trusted identity behind.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/client_support.h"
#include "tests/fuzz/fuzz_check.h"

using sotto::client::signal::Address;
using sotto::client::signal::Bundle;
using sotto::client::signal::MessageType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Bundle b;
  b.device_id = in.ConsumeIntegral<uint32_t>();
  b.registration_id = in.ConsumeIntegral<uint32_t>();
  b.identity_key = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 40));
  b.signed_prekey_id = in.ConsumeIntegral<uint32_t>();
  b.signed_prekey_public = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 40));
  b.signed_prekey_signature = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 70));
  if (in.ConsumeBool()) {
    sotto::client::signal::OneTimePreKeyData k;
    k.id = in.ConsumeIntegral<uint32_t>();
    k.public_key = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 40));
    b.one_time_prekey = k;
  }
  Address peer{"peer", in.ConsumeBool() ? b.device_id : 1};

  // A fresh device per input: ProcessBundle trusts on first use, so a shared
  // one would refuse every later identity and stop exploring.
  sotto::fuzz::Device me(/*prekeys=*/0);

  absl::Status s = me.engine->ProcessBundle(peer, b);
  absl::StatusOr<bool> has = me.engine->HasSession(peer);
  if (!has.ok()) {
    // Only an address outside 1..2^31-1 may be refused, and then ProcessBundle
    // must have refused it too.
    FUZZ_CHECK(has.status().code() == absl::StatusCode::kInvalidArgument &&
                   (peer.device_id == 0 || peer.device_id > 0x7FFFFFFFu) && !s.ok(),
               has.status().ToString().c_str());
    return 0;
  }
  auto trusted = me.engine->TrustedIdentity(peer);
  FUZZ_CHECK(trusted.ok(), "TrustedIdentity failed on a memory store");
  if (s.ok()) {
    FUZZ_CHECK(*has, "ProcessBundle OK but no session");
    FUZZ_CHECK(trusted->has_value() && **trusted == b.identity_key,
               "ProcessBundle OK but the bundle's identity is not trusted");
    auto c = me.engine->Encrypt(peer, "hello");
    FUZZ_CHECK(c.ok() && c->type == MessageType::kPreKey, "first message is not a PreKey message");
  } else {
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument ||
                   s.code() == absl::StatusCode::kFailedPrecondition,
               s.ToString().c_str());
    FUZZ_CHECK(!*has, "refused bundle left a session");
    FUZZ_CHECK(!trusted->has_value(), "refused bundle left a trusted identity");
  }
  return 0;
}
