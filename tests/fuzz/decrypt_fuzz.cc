// Fuzzes decryption of ciphertext bytes from the network: Engine::Decrypt of
// fuzzed bodies as PreKey messages (which carry an identity key, a base key
// and prekey ids that drive session set-up and the trust checks in the store
// bridge before any MAC is checked) and as ordinary messages on an existing
// session. Seeds are real messages made by the seed writer.
//
// Set-up, once: "bob" has a session with "alice" (alice processed bob's
// bundle, bob decrypted her first message, alice decrypted his reply).
// Byte 0 of the input: bit 0 picks the type, bit 1 the sender (alice's
// device 1 with a session, or a device 2 without one).
//
// Invariants: a refusal is one of the codes the header promises for peer
// input (ALREADY_EXISTS, FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT,
// DATA_LOSS), never INTERNAL/UNKNOWN; a refused message leaves bob's session
// with alice able to decrypt her next real message.

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/client_support.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sotto::client::signal::Address;
using sotto::client::signal::Ciphertext;
using sotto::client::signal::MessageType;
using sotto::fuzz::Require;

struct Pair {
  Pair() {
    Require(alice.engine->ProcessBundle(kBob, bob.MakeBundle()), "alice ProcessBundle");
    auto first = alice.engine->Encrypt(kBob, "first");
    Require(first.status(), "alice Encrypt");
    Require(bob.engine->Decrypt(kAlice, *first).status(), "bob Decrypt first");
    auto reply = bob.engine->Encrypt(kAlice, "reply");
    Require(reply.status(), "bob Encrypt");
    Require(alice.engine->Decrypt(kBob, *reply).status(), "alice Decrypt reply");
  }
  const Address kAlice{"alice", 1};
  const Address kBob{"bob", 1};
  sotto::fuzz::Device alice{0};
  sotto::fuzz::Device bob{3};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Pair* pair = new Pair();  // leaked on purpose: lives for the process
  if (size == 0) return 0;
  Ciphertext c;
  c.type = (data[0] & 1) ? MessageType::kPreKey : MessageType::kCiphertext;
  c.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  Address from = (data[0] & 2) ? Address{"alice", 2} : pair->kAlice;

  absl::StatusOr<std::string> plain = pair->bob.engine->Decrypt(from, c);
  if (!plain.ok()) {
    absl::StatusCode code = plain.status().code();
    FUZZ_CHECK(
        code == absl::StatusCode::kAlreadyExists || code == absl::StatusCode::kFailedPrecondition ||
            code == absl::StatusCode::kNotFound || code == absl::StatusCode::kInvalidArgument ||
            code == absl::StatusCode::kDataLoss,
        plain.status().ToString().c_str());
    // Bob still reads alice's next real message.
    auto next = pair->alice.engine->Encrypt(pair->kBob, "still there?");
    FUZZ_CHECK(next.ok(), "alice cannot encrypt");
    auto got = pair->bob.engine->Decrypt(pair->kAlice, *next);
    FUZZ_CHECK(got.ok() && *got == "still there?", "a refused message broke the session");
  }
  return 0;
}
