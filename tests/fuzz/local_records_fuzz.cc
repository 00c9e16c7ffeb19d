// Fuzzes the client's parsing of its own stored records, as read back from a
// local store that may be corrupted: every value the Engine keeps (identity
// key pair, registration id, signed and one-time prekeys and their id lists,
// sessions, trusted identities) and the client's protobuf records
// (sotto.client Profile, StoredMessage, PendingReceipts, ConversationSummary).
//
// Set-up, once: a device with a session with a peer. Input byte 0 picks one
// stored entry (across all spaces) whose value is replaced by the rest of
// the input; then a fresh Engine on that store runs every read path. The
// original value is put back afterwards.
//
// Invariants: no crash, no sanitizer report; an Engine operation on a
// corrupted record fails with DATA_LOSS / INTERNAL / FAILED_PRECONDITION /
// INVALID_ARGUMENT / NOT_FOUND rather than returning garbage silently where
// we can tell (the identity key read back is 33 bytes); protobuf records
// re-serialize to bytes that parse to the same message.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sotto/client/records.pb.h"
#include "sotto/local_store.h"
#include "tests/fuzz/client_support.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sotto::client::signal::Address;
using sotto::client::signal::Engine;
using sotto::client::storage::Entry;
using sotto::client::storage::Space;
using sotto::client::storage::Write;
using sotto::fuzz::Require;

struct Slot {
  Space space;
  std::string key;
  std::string value;
};

struct State {
  State() {
    Require(me.engine->ProcessBundle(kPeer, peer.MakeBundle()), "ProcessBundle");
    Require(me.engine->GeneratePreKeys(2).status(), "GeneratePreKeys");
    for (uint8_t s = 1; s <= 10; ++s) {
      auto entries = me.store->Scan(static_cast<Space>(s), "");
      Require(entries.status(), "Scan");
      for (Entry& e : *entries) {
        slots.push_back(Slot{static_cast<Space>(s), std::move(e.key), std::move(e.value)});
      }
    }
    if (slots.empty()) std::abort();
  }
  const Address kPeer{"peer", 1};
  sotto::fuzz::Device me{1};
  sotto::fuzz::Device peer{1};
  std::vector<Slot> slots;
};

void CheckCode(const absl::Status& s) {
  if (s.ok()) return;
  absl::StatusCode c = s.code();
  FUZZ_CHECK(c == absl::StatusCode::kDataLoss || c == absl::StatusCode::kInternal ||
                 c == absl::StatusCode::kFailedPrecondition ||
                 c == absl::StatusCode::kInvalidArgument || c == absl::StatusCode::kNotFound ||
                 c == absl::StatusCode::kAlreadyExists,
             s.ToString().c_str());
}

template <typename Message>
void CheckProtoStable(const std::string& bytes) {
  Message m;
  if (!m.ParseFromString(bytes)) return;
  std::string once = m.SerializeAsString();
  Message again;
  FUZZ_CHECK(again.ParseFromString(once), "re-serialized record does not parse");
  FUZZ_CHECK(again.SerializeAsString() == once, "record serialization not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State* state = new State();  // leaked on purpose: lives for the process
  if (size == 0) return 0;
  const Slot& slot = state->slots[data[0] % state->slots.size()];
  std::string value(reinterpret_cast<const char*>(data + 1), size - 1);

  CheckProtoStable<sotto::client::Profile>(value);
  CheckProtoStable<sotto::client::StoredMessage>(value);
  CheckProtoStable<sotto::client::PendingReceipts>(value);
  CheckProtoStable<sotto::client::ConversationSummary>(value);

  Require(state->me.store->Apply({Write{slot.space, slot.key, value}}), "Apply fuzzed");
  {
    absl::StatusOr<std::unique_ptr<Engine>> opened = Engine::Open(state->me.store.get());
    CheckCode(opened.status());
    if (opened.ok()) {
      Engine& e = **opened;
      CheckCode(e.RegistrationId().status());
      absl::StatusOr<std::string> id = e.IdentityPublicKey();
      CheckCode(id.status());
      CheckCode(e.CurrentSignedPreKey().status());
      CheckCode(e.HasSession(state->kPeer).status());
      CheckCode(e.SessionDevices("peer").status());
      CheckCode(e.RemoteRegistrationId(state->kPeer).status());
      CheckCode(e.TrustedIdentity(state->kPeer).status());
      CheckCode(e.TrustedIdentity("peer").status());
      CheckCode(e.Encrypt(state->kPeer, "hello").status());
      CheckCode(e.GeneratePreKeys(1).status());
      CheckCode(e.RotateSignedPreKey(1'750'000'000'000).status());
    }
  }
  // Put every original value back (the operations above may have written
  // new ones; those are harmless and stay).
  std::vector<Write> restore;
  for (const Slot& s : state->slots) restore.push_back(Write{s.space, s.key, s.value});
  Require(state->me.store->Apply(restore), "Apply restore");
  return 0;
}
