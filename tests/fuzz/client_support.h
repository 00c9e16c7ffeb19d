#ifndef SOTTO_TESTS_FUZZ_CLIENT_SUPPORT_H_
#define SOTTO_TESTS_FUZZ_CLIENT_SUPPORT_H_

// Engines on memory stores for the client fuzz targets, built with the real
// Engine API so a set-up failure is itself a finding.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"

namespace sotto::fuzz {

inline void Require(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz set-up failed: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// One device: its store and engine, with an identity, a signed prekey and
// `prekeys` one-time prekeys.
struct Device {
  explicit Device(uint32_t prekeys = 1) : store(client::storage::NewMemoryStore()) {
    auto e = client::signal::Engine::Open(store.get());
    Require(e.status(), "Engine::Open");
    engine = *std::move(e);
    Require(engine->CreateIdentity(), "CreateIdentity");
    Require(engine->RotateSignedPreKey(1'750'000'000'000).status(), "RotateSignedPreKey");
    if (prekeys > 0) {
      auto otks = engine->GeneratePreKeys(prekeys);
      Require(otks.status(), "GeneratePreKeys");
      one_time = otks->front();
    }
  }

  // The bundle the server would hand out for this device (device_id 1).
  client::signal::Bundle MakeBundle() {
    client::signal::Bundle b;
    b.device_id = 1;
    auto reg = engine->RegistrationId();
    Require(reg.status(), "RegistrationId");
    b.registration_id = *reg;
    auto id = engine->IdentityPublicKey();
    Require(id.status(), "IdentityPublicKey");
    b.identity_key = *id;
    auto spk = engine->CurrentSignedPreKey();
    Require(spk.status(), "CurrentSignedPreKey");
    b.signed_prekey_id = spk->id;
    b.signed_prekey_public = spk->public_key;
    b.signed_prekey_signature = spk->signature;
    if (one_time.has_value()) b.one_time_prekey = one_time;
    return b;
  }

  std::unique_ptr<client::storage::LocalStore> store;
  std::unique_ptr<client::signal::Engine> engine;
  std::optional<client::signal::OneTimePreKeyData> one_time;
};

}  // namespace sotto::fuzz

#endif  // SOTTO_TESTS_FUZZ_CLIENT_SUPPORT_H_
