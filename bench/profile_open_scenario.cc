// profile-open (issue 21): the fixed cost of opening a therapist's profile
// and syncing with nothing new, broken into pieces measured from outside the
// public API:
//   kdf            Argon2id at the profile's (interactive) limits, libsodium
//                  called directly
//   open_wrong     Client::Open with a wrong passphrase: the read-only RocksDB
//                  open that fetches the header, and the KDF
//   open           Client::Open: the above, the read-write RocksDB open, the
//                  manifest check, loading the profile
//   first_sync     the first Sync of that Client: the connection, the Fetch
//                  that finds nothing, key maintenance
//   second_sync    another Sync on the same Client (connection warm)
//   close          destroying the Client (closing the store)
//   unlock         Lock, then Unlock with the passphrase: KDF + store open,
//                  no connection
// Derived, on CPU time: open_wrong - kdf ~ the read-only open; open -
// open_wrong ~ the read-write open, the manifest check and the profile;
// first_sync - second_sync ~ connecting. Each piece is the median of `repeats`, on an
// empty history and again after `history` messages were synced into it. The
// server runs without TLS (loopback), so no TLS handshake is included.

#include <sodium.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"
#include "client-lib/storage/encrypted_rocks_store.h"

namespace sotto::bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Timed Kdf() {
  const client::storage::KdfLimits limits = client::storage::KdfLimits::Interactive();
  unsigned char key[32];
  unsigned char salt[crypto_pwhash_SALTBYTES] = {1};
  const std::string pass = kBenchPassphrase;
  Stopwatch watch;
  if (crypto_pwhash(key, sizeof(key), pass.data(), pass.size(), salt, limits.ops, limits.mem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return {-1, -1};
  }
  return watch.Elapsed();
}

// Each piece's wall and CPU milliseconds. On a loaded machine the wall times
// wait for a core; the CPU times (this process, every thread) do not.
// Minor faults too: first touches of fresh memory, ~12 us of CPU each on
// that VM and, unlike CPU time, the same from run to run.
struct Piece {
  std::vector<double> wall, cpu, faults;
  void Add(const Timed& t) {
    wall.push_back(t.wall * 1e3);
    cpu.push_back(t.cpu * 1e3);
    faults.push_back(t.minor_faults);
  }
};

struct Pieces {
  Piece kdf, open_wrong, open, first_sync, second_sync, close, unlock;
};

// One round of every piece; false (and a failure in `r`) on an error.
bool MeasureOnce(ScenarioResult& r, ClientPair& pair, Pieces& p) {
  pair.CloseTherapist();
  p.kdf.Add(Kdf());
  OpenOptions wrong;
  wrong.profile_dir = pair.therapist_dir();
  wrong.passphrase = "not the passphrase";
  Stopwatch w1;
  absl::StatusOr<std::unique_ptr<Client>> refused = Client::Open(wrong);
  p.open_wrong.Add(w1.Elapsed());
  if (refused.ok() || refused.status().code() != absl::StatusCode::kPermissionDenied) {
    r.failures.push_back("Open with a wrong passphrase: " + refused.status().ToString());
    return false;
  }
  Stopwatch w2;
  if (absl::Status s = pair.ReopenTherapist(); !s.ok()) {
    r.failures.push_back("Open: " + s.ToString());
    return false;
  }
  p.open.Add(w2.Elapsed());
  for (Piece* piece : {&p.first_sync, &p.second_sync}) {
    Stopwatch w;
    absl::StatusOr<SyncStats> got = pair.therapist().Sync();
    piece->Add(w.Elapsed());
    if (!got.ok() || got->received != 0) {
      r.failures.push_back(
          "a Sync with nothing new: " +
          (got.ok() ? absl::StrCat(got->received, " received") : got.status().ToString()));
      return false;
    }
  }
  if (absl::Status s = pair.therapist().Lock(); !s.ok()) {
    r.failures.push_back("Lock: " + s.ToString());
    return false;
  }
  Stopwatch w3;
  if (absl::Status s = pair.therapist().Unlock(kBenchPassphrase); !s.ok()) {
    r.failures.push_back("Unlock: " + s.ToString());
    return false;
  }
  p.unlock.Add(w3.Elapsed());
  Stopwatch w4;
  pair.CloseTherapist();
  p.close.Add(w4.Elapsed());
  return true;
}

bool MeasureAll(ScenarioResult& r, ClientPair& pair, int repeats, const std::string& sfx) {
  Pieces p;
  for (int i = 0; i < repeats; ++i) {
    if (!MeasureOnce(r, pair, p)) return false;
  }
  const std::pair<const char*, const Piece*> pieces[] = {{"kdf", &p.kdf},
                                                         {"open_wrong_passphrase", &p.open_wrong},
                                                         {"open", &p.open},
                                                         {"first_sync", &p.first_sync},
                                                         {"second_sync", &p.second_sync},
                                                         {"close", &p.close},
                                                         {"unlock", &p.unlock}};
  for (const auto& [name, piece] : pieces) {
    r.Add(absl::StrCat(name, "_ms", sfx), Median(piece->wall), "ms");
    r.Add(absl::StrCat(name, "_cpu_ms", sfx), Median(piece->cpu), "ms");
    r.Add(absl::StrCat(name, "_faults", sfx), Median(piece->faults));
  }
  // The differences, on CPU time (steadier than wall time on a shared
  // machine).
  const double kdf = Median(p.kdf.cpu), wrong = Median(p.open_wrong.cpu);
  const double open = Median(p.open.cpu), first = Median(p.first_sync.cpu);
  r.Add("readonly_open_cpu_ms" + sfx, wrong - kdf, "ms");
  r.Add("rw_open_manifest_profile_cpu_ms" + sfx, open - wrong, "ms");
  r.Add("connect_cpu_ms" + sfx, first - Median(p.second_sync.cpu), "ms");
  r.Add("open_and_sync_ms" + sfx,
        Median(p.open.wall) + Median(p.first_sync.wall) + Median(p.close.wall), "ms");
  r.Add("open_and_sync_cpu_ms" + sfx, open + first + Median(p.close.cpu), "ms");
  return pair.ReopenTherapist().ok();
}

}  // namespace

ScenarioResult RunProfileOpen(const Common& common, const ProfileOpenOptions& o) {
  ScenarioResult r;
  r.scenario = "profile-open";
  r.Param("history", static_cast<double>(o.history));
  r.Param("repeats", o.repeats);
  r.Add("load_average_start", LoadAverage());
  if (sodium_init() < 0) {
    r.failures.push_back("sodium_init failed");
    return r;
  }
  absl::StatusOr<std::unique_ptr<ClientPair>> pair = ClientPair::Start(common);
  if (!pair.ok()) {
    r.failures.push_back("set-up: " + pair.status().ToString());
    return r;
  }
  if (!MeasureAll(r, **pair, o.repeats, "_empty")) return r;
  if (o.history > 0) {
    absl::StatusOr<Timed> fill = SendTexts(**pair, 0, o.history, 200);
    absl::StatusOr<SyncStats> got = SyncStats{};
    if (!fill.ok()) got = fill.status();
    // Until the backlog is in: the measured Syncs must find nothing new.
    for (uint64_t calls = 0; fill.ok() && calls < o.history + 2; ++calls) {
      got = (*pair)->therapist().Sync();
      if (!got.ok() || got->received == 0) break;
    }
    if (!got.ok()) {
      r.failures.push_back("history: " + got.status().ToString());
      return r;
    }
    MeasureAll(r, **pair, o.repeats, absl::StrCat("_history", o.history));
  }
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench
