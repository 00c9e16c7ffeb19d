// crypto: the client library's Engine (real libsignal-protocol-c with our
// OpenSSL provider, memory stores, no server) on one thread.

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

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

// Alice and Bob, each an Engine on a memory store, and Bob's one-time
// prekeys: the first starts the session, the rest the measured set-ups.
struct Parties {
  Party alice, bob;
  const sig::Address alice_addr{"alice", 1}, bob_addr{"bob", 1};
  std::vector<sig::OneTimePreKeyData> otks;
};

// `from` encrypts `text` for `to`, which decrypts it; the message's type.
absl::StatusOr<sig::MessageType> RoundTrip(Party& from, const sig::Address& from_addr, Party& to,
                                           const sig::Address& to_addr, const std::string& text) {
  absl::StatusOr<sig::Ciphertext> ct = from.engine->Encrypt(to_addr, text);
  if (!ct.ok()) return ct.status();
  absl::StatusOr<std::string> pt = to.engine->Decrypt(from_addr, *ct);
  if (!pt.ok()) return pt.status();
  if (*pt != text) return absl::DataLossError("decrypted text differs");
  return ct->type;
}

bool Fail(ScenarioResult& r, const std::string& what, const absl::Status& s) {
  r.failures.push_back(what + ": " + s.ToString());
  return false;
}

// Makes both parties and the session: alice -> bob (PreKey), bob -> alice,
// so alice's next messages are plain Ciphertext messages of a continuing
// session. False (and a failure in `r`) on an error.
bool StartSession(ScenarioResult& r, const CryptoOptions& o, Parties& p) {
  absl::StatusOr<Party> alice = MakeParty();
  if (!alice.ok()) return Fail(r, "alice", alice.status());
  p.alice = std::move(*alice);
  absl::StatusOr<Party> bob = MakeParty();
  if (!bob.ok()) return Fail(r, "bob", bob.status());
  p.bob = std::move(*bob);
  if (auto spk = p.bob.engine->RotateSignedPreKey(NowMs()); !spk.ok()) {
    return Fail(r, "RotateSignedPreKey", spk.status());
  }
  const uint32_t prekeys = static_cast<uint32_t>(
      std::min<uint64_t>(sig::kMaxPreKeysPerCall, std::max<uint64_t>(1, o.setups + 1)));
  absl::StatusOr<std::vector<sig::OneTimePreKeyData>> otks = p.bob.engine->GeneratePreKeys(prekeys);
  if (!otks.ok()) return Fail(r, "GeneratePreKeys", otks.status());
  p.otks = std::move(*otks);

  absl::StatusOr<sig::Bundle> bundle = BundleOf(*p.bob.engine, &p.otks[0]);
  if (!bundle.ok()) return Fail(r, "bundle", bundle.status());
  if (absl::Status s = p.alice.engine->ProcessBundle(p.bob_addr, *bundle); !s.ok()) {
    return Fail(r, "ProcessBundle", s);
  }
  if (auto t = RoundTrip(p.alice, p.alice_addr, p.bob, p.bob_addr, "hello"); !t.ok()) {
    return Fail(r, "first message", t.status());
  }
  if (auto t = RoundTrip(p.bob, p.bob_addr, p.alice, p.alice_addr, "hi"); !t.ok()) {
    return Fail(r, "reply", t.status());
  }
  return true;
}

// Continuing session, same direction: encrypt + decrypt pairs for `limit`.
bool MeasurePairs(ScenarioResult& r, Parties& p, const std::string& text,
                  std::chrono::duration<double> limit) {
  uint64_t pairs = 0;
  const auto start = Clock::now();
  const double cpu0 = ThreadCpuSeconds();
  // Bounded by time and by count (far above anything one core reaches).
  while (Clock::now() - start < limit && pairs < 100000000) {
    absl::StatusOr<sig::MessageType> type =
        RoundTrip(p.alice, p.alice_addr, p.bob, p.bob_addr, text);
    if (!type.ok()) return Fail(r, absl::StrCat("pair ", pairs), type.status());
    if (*type != sig::MessageType::kCiphertext) {
      r.failures.push_back("continuing session sent a PreKey message");
      return false;
    }
    ++pairs;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = ThreadCpuSeconds() - cpu0;
  r.Add("pairs_per_s", wall > 0 ? pairs / wall : 0, "pairs/s");
  r.Add("pairs_per_cpu_s", cpu > 0 ? pairs / cpu : 0, "pairs/s");
  r.Add("pair_us", pairs > 0 ? wall * 1e6 / pairs : NAN, "us");
  return true;
}

// Session set-ups: process a fresh bundle, encrypt, peer decrypts the
// PreKey message (a new one-time prekey each time).
void MeasureSetups(ScenarioResult& r, Parties& p, const std::string& text, uint64_t max_setups,
                   std::chrono::duration<double> limit) {
  uint64_t setups = 0;
  const auto start = Clock::now();
  const double cpu0 = ThreadCpuSeconds();
  for (size_t i = 1; i < p.otks.size() && setups < max_setups && Clock::now() - start < limit;
       ++i) {
    absl::StatusOr<sig::Bundle> b = BundleOf(*p.bob.engine, &p.otks[i]);
    if (!b.ok()) {
      Fail(r, "bundle", b.status());
      return;
    }
    if (absl::Status s = p.alice.engine->ProcessBundle(p.bob_addr, *b); !s.ok()) {
      Fail(r, "ProcessBundle", s);
      return;
    }
    absl::StatusOr<sig::MessageType> type =
        RoundTrip(p.alice, p.alice_addr, p.bob, p.bob_addr, text);
    if (!type.ok()) {
      Fail(r, absl::StrCat("set-up ", setups), type.status());
      return;
    }
    if (*type != sig::MessageType::kPreKey) {
      r.failures.push_back("a new session's first message was not a PreKey message");
      return;
    }
    ++setups;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = ThreadCpuSeconds() - cpu0;
  r.Add("setups_per_s", wall > 0 ? setups / wall : 0, "setups/s");
  r.Add("setups_per_cpu_s", cpu > 0 ? setups / cpu : 0, "setups/s");
  r.Add("setup_ms", setups > 0 ? wall * 1e3 / setups : NAN, "ms");
  if (setups == 0) r.failures.push_back("no session set-up completed");
}

// Decrypt only, continuing session: `messages` pre-encrypted by alice, then
// decrypted by bob in order, timed. Memory stores, so this is libsignal-
// protocol-c with our crypto provider and nothing of the library's store.
bool MeasureDecrypts(ScenarioResult& r, Parties& p, const std::string& text, uint64_t messages,
                     RawDecrypt& out) {
  std::vector<sig::Ciphertext> cts;
  cts.reserve(messages);
  for (uint64_t i = 0; i < messages; ++i) {
    absl::StatusOr<sig::Ciphertext> ct = p.alice.engine->Encrypt(p.bob_addr, text);
    if (!ct.ok()) return Fail(r, absl::StrCat("encrypt ", i), ct.status());
    cts.push_back(std::move(*ct));
  }
  const auto start = Clock::now();
  const double cpu0 = ThreadCpuSeconds();
  for (uint64_t i = 0; i < messages; ++i) {
    absl::StatusOr<std::string> pt = p.bob.engine->Decrypt(p.alice_addr, cts[i]);
    if (!pt.ok()) return Fail(r, absl::StrCat("decrypt ", i), pt.status());
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = ThreadCpuSeconds() - cpu0;
  out.messages = messages;
  out.per_s = wall > 0 ? messages / wall : 0;
  out.per_cpu_s = cpu > 0 ? messages / cpu : 0;
  return true;
}

}  // namespace

ScenarioResult RunCrypto(const CryptoOptions& o) {
  ScenarioResult r;
  r.scenario = "crypto";
  r.Param("seconds", o.seconds, "s");
  r.Param("size", o.size, "B");
  r.Param("setups", static_cast<double>(o.setups));
  PinToOneCpu pin(o.pin);
  Parties parties;
  if (!StartSession(r, o, parties)) return r;
  std::string text(o.size, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  const auto limit = std::chrono::duration<double>(o.seconds);
  if (!MeasurePairs(r, parties, text, limit)) return r;
  MeasureSetups(r, parties, text, o.setups, limit);
  return r;
}

}  // namespace sotto::bench

namespace sotto::bench {

absl::StatusOr<RawDecrypt> MeasureRawDecrypt(size_t size, uint64_t messages, bool pin) {
  ScenarioResult r;
  CryptoOptions o;
  o.setups = 1;
  PinToOneCpu pinned(pin);
  Parties parties;
  RawDecrypt out;
  if (StartSession(r, o, parties)) {
    MeasureDecrypts(r, parties, std::string(size, 'r'), messages, out);
  }
  if (!r.ok()) return absl::InternalError("raw decrypt: " + r.failures.front());
  return out;
}

}  // namespace sotto::bench
