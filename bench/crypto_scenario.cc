// crypto: the client library's Engine (real libsignal-protocol-c with our
// OpenSSL provider, memory stores, no server) on one thread.

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/scenarios.h"
#include "client-lib/signal/engine.h"
#include "client-lib/storage/memory_store.h"

namespace sotto::bench {
namespace {

namespace sig = sotto::client::signal;
using Clock = std::chrono::steady_clock;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Party {
  std::unique_ptr<client::storage::LocalStore> store;
  std::unique_ptr<sig::Engine> engine;
};

absl::StatusOr<Party> MakeParty() {
  Party p;
  p.store = client::storage::NewMemoryStore();
  absl::StatusOr<std::unique_ptr<sig::Engine>> e = sig::Engine::Open(p.store.get());
  if (!e.ok()) return e.status();
  p.engine = std::move(*e);
  absl::Status s = p.engine->CreateIdentity();
  if (!s.ok()) return s;
  return p;
}

absl::StatusOr<sig::Bundle> BundleOf(sig::Engine& e, const sig::OneTimePreKeyData* otk) {
  absl::StatusOr<uint32_t> reg = e.RegistrationId();
  absl::StatusOr<std::string> identity = e.IdentityPublicKey();
  absl::StatusOr<sig::SignedPreKeyData> spk = e.CurrentSignedPreKey();
  if (!reg.ok()) return reg.status();
  if (!identity.ok()) return identity.status();
  if (!spk.ok()) return spk.status();
  sig::Bundle b;
  b.device_id = 1;
  b.registration_id = *reg;
  b.identity_key = *identity;
  b.signed_prekey_id = spk->id;
  b.signed_prekey_public = spk->public_key;
  b.signed_prekey_signature = spk->signature;
  if (otk != nullptr) b.one_time_prekey = *otk;
  return b;
}

// Pins the calling thread to the CPU it runs on; restores on destruction.
class PinToOneCpu {
 public:
  explicit PinToOneCpu(bool pin) {
    if (!pin) return;
    pthread_getaffinity_np(pthread_self(), sizeof(old_), &old_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
  }
  ~PinToOneCpu() {
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof(old_), &old_);
  }
  PinToOneCpu(const PinToOneCpu&) = delete;
  PinToOneCpu& operator=(const PinToOneCpu&) = delete;

 private:
  cpu_set_t old_{};
  bool pinned_ = false;
};

}  // namespace

ScenarioResult RunCrypto(const CryptoOptions& o) {
  ScenarioResult r;
  r.scenario = "crypto";
  r.Param("seconds", o.seconds, "s");
  r.Param("size", o.size, "B");
  r.Param("setups", static_cast<double>(o.setups));
  auto fail = [&](const std::string& what, const absl::Status& s) {
    r.failures.push_back(what + ": " + s.ToString());
    return r;
  };
  PinToOneCpu pin(o.pin);
  const sig::Address alice_addr{"alice", 1}, bob_addr{"bob", 1};
  absl::StatusOr<Party> alice = MakeParty();
  if (!alice.ok()) return fail("alice", alice.status());
  absl::StatusOr<Party> bob = MakeParty();
  if (!bob.ok()) return fail("bob", bob.status());
  if (auto spk = bob->engine->RotateSignedPreKey(NowMs()); !spk.ok()) {
    return fail("RotateSignedPreKey", spk.status());
  }
  const uint32_t prekeys = static_cast<uint32_t>(
      std::min<uint64_t>(sig::kMaxPreKeysPerCall, std::max<uint64_t>(1, o.setups + 1)));
  absl::StatusOr<std::vector<sig::OneTimePreKeyData>> otks = bob->engine->GeneratePreKeys(prekeys);
  if (!otks.ok()) return fail("GeneratePreKeys", otks.status());

  // The session: alice -> bob (PreKey), bob -> alice, so alice's next
  // messages are plain Ciphertext messages of a continuing session.
  absl::StatusOr<sig::Bundle> bundle = BundleOf(*bob->engine, &(*otks)[0]);
  if (!bundle.ok()) return fail("bundle", bundle.status());
  if (absl::Status s = alice->engine->ProcessBundle(bob_addr, *bundle); !s.ok()) {
    return fail("ProcessBundle", s);
  }
  auto round_trip = [&](Party& from, const sig::Address& from_addr, Party& to,
                        const sig::Address& to_addr, const std::string& text,
                        sig::MessageType* type) -> absl::Status {
    absl::StatusOr<sig::Ciphertext> ct = from.engine->Encrypt(to_addr, text);
    if (!ct.ok()) return ct.status();
    if (type != nullptr) *type = ct->type;
    absl::StatusOr<std::string> pt = to.engine->Decrypt(from_addr, *ct);
    if (!pt.ok()) return pt.status();
    if (*pt != text) return absl::DataLossError("decrypted text differs");
    return absl::OkStatus();
  };
  if (absl::Status s = round_trip(*alice, alice_addr, *bob, bob_addr, "hello", nullptr); !s.ok()) {
    return fail("first message", s);
  }
  if (absl::Status s = round_trip(*bob, bob_addr, *alice, alice_addr, "hi", nullptr); !s.ok()) {
    return fail("reply", s);
  }

  // Continuing session, same direction: encrypt + decrypt pairs.
  std::string text(o.size, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  const auto limit = std::chrono::duration<double>(o.seconds);
  uint64_t pairs = 0;
  auto start = Clock::now();
  double cpu0 = ThreadCpuSeconds();
  // Bounded by time and by count (far above anything one core reaches).
  while (Clock::now() - start < limit && pairs < 100000000) {
    sig::MessageType type;
    if (absl::Status s = round_trip(*alice, alice_addr, *bob, bob_addr, text, &type); !s.ok()) {
      return fail(absl::StrCat("pair ", pairs), s);
    }
    if (type != sig::MessageType::kCiphertext) {
      r.failures.push_back("continuing session sent a PreKey message");
      return r;
    }
    ++pairs;
  }
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = ThreadCpuSeconds() - cpu0;
  r.Add("pairs_per_s", wall > 0 ? pairs / wall : 0, "pairs/s");
  r.Add("pairs_per_cpu_s", cpu > 0 ? pairs / cpu : 0, "pairs/s");
  r.Add("pair_us", pairs > 0 ? wall * 1e6 / pairs : NAN, "us");

  // Session set-ups: process a fresh bundle, encrypt, peer decrypts the
  // PreKey message (a new one-time prekey each time).
  uint64_t setups = 0;
  start = Clock::now();
  cpu0 = ThreadCpuSeconds();
  for (size_t i = 1; i < otks->size() && setups < o.setups && Clock::now() - start < limit; ++i) {
    absl::StatusOr<sig::Bundle> b = BundleOf(*bob->engine, &(*otks)[i]);
    if (!b.ok()) return fail("bundle", b.status());
    if (absl::Status s = alice->engine->ProcessBundle(bob_addr, *b); !s.ok()) {
      return fail("ProcessBundle", s);
    }
    sig::MessageType type;
    if (absl::Status s = round_trip(*alice, alice_addr, *bob, bob_addr, text, &type); !s.ok()) {
      return fail(absl::StrCat("set-up ", setups), s);
    }
    if (type != sig::MessageType::kPreKey) {
      r.failures.push_back("a new session's first message was not a PreKey message");
      return r;
    }
    ++setups;
  }
  wall = std::chrono::duration<double>(Clock::now() - start).count();
  cpu = ThreadCpuSeconds() - cpu0;
  r.Add("setups_per_s", wall > 0 ? setups / wall : 0, "setups/s");
  r.Add("setups_per_cpu_s", cpu > 0 ? setups / cpu : 0, "setups/s");
  r.Add("setup_ms", setups > 0 ? wall * 1e3 / setups : NAN, "ms");
  if (setups == 0) r.failures.push_back("no session set-up completed");
  return r;
}

}  // namespace sotto::bench
