// Fuzzes what a person hands the client as text or files from elsewhere
// (issue 16): a device link code as typed, a recovery key as typed, the
// three files of a clinical-record export that `verify-export` reads
// (record.json, the signed manifest, record.sig), and a provisioning
// message as the (untrusted) relay hands it over.
//
// Input byte 0 picks the parser; the rest is its input.
//
// Invariants: no crash, no sanitizer report; what a parser accepts is well
// formed (a link code's parts have their sizes, a recovery key is 40
// digits) and survives being written back and parsed again unchanged; a
// provisioning message not sealed with the code's secret never opens.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "client-lib/backup/recovery_key.h"
#include "client-lib/devices/provisioning.h"
#include "client-lib/record/record_format.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace devices = sotto::client::devices;
namespace record = sotto::client::record;

void LinkCode(absl::string_view text) {
  absl::StatusOr<devices::LinkCode> code = devices::ParseLinkCode(text);
  if (!code.ok()) return;
  FUZZ_CHECK(code->slot_id.size() == devices::kSlotIdBytes, "slot id size");
  FUZZ_CHECK(code->secret.size() == devices::kLinkSecretBytes, "secret size");
  absl::StatusOr<devices::LinkCode> again = devices::ParseLinkCode(devices::FormatLinkCode(*code));
  FUZZ_CHECK(again.ok(), "a formatted code parses");
  FUZZ_CHECK(again->slot_id == code->slot_id && again->secret == code->secret,
             "a code survives formatting");
}

void RecoveryKey(absl::string_view text) {
  absl::StatusOr<std::string> digits = sotto::client::backup::NormalizeRecoveryKey(text);
  if (!digits.ok()) return;
  FUZZ_CHECK(digits->size() == sotto::client::backup::kRecoveryKeyDigits, "40 digits");
  for (char c : *digits) FUZZ_CHECK(c >= '0' && c <= '9', "only digits");
  absl::StatusOr<std::string> again = sotto::client::backup::NormalizeRecoveryKey(*digits);
  FUZZ_CHECK(again.ok() && *again == *digits, "normalising is idempotent");
}

void Manifest(absl::string_view text) {
  absl::StatusOr<record::Manifest> m = record::ParseManifest(text);
  if (!m.ok() || m->html_sha256.empty()) return;  // the writer always names record.html
  absl::StatusOr<record::Manifest> again = record::ParseManifest(record::ManifestText(*m));
  FUZZ_CHECK(again.ok(), "a written manifest parses");
  FUZZ_CHECK(again->json_sha256 == m->json_sha256 && again->html_sha256 == m->html_sha256 &&
                 again->header_digest == m->header_digest,
             "the manifest's digests survive");
  FUZZ_CHECK(again->messages.size() == m->messages.size(), "every message line survives");
  for (size_t i = 0; i < m->messages.size(); ++i) {
    FUZZ_CHECK(again->messages[i].id == m->messages[i].id &&
                   again->messages[i].server_time_ms == m->messages[i].server_time_ms &&
                   again->messages[i].digest == m->messages[i].digest,
               "a message line survives");
  }
}

void SignatureFile(absl::string_view text) {
  absl::StatusOr<record::SignatureFile> sig = record::ParseSignatureFile(text);
  if (!sig.ok()) return;
  absl::StatusOr<record::SignatureFile> again =
      record::ParseSignatureFile(record::SignatureFileText(*sig));
  FUZZ_CHECK(again.ok(), "a written signature file parses");
  FUZZ_CHECK(again->identity_key == sig->identity_key && again->signature == sig->signature,
             "the key and the signature survive");
}

void RecordJson(absl::string_view text) {
  absl::StatusOr<record::ParsedRecord> parsed = record::ParseRecordJson(text);
  if (!parsed.ok()) return;
  FUZZ_CHECK(!parsed->header_digest.empty(), "an accepted record has a header digest");
}

void Provisioning(absl::string_view sealed) {
  static const devices::LinkCode* const code = [] {
    auto* c = new devices::LinkCode;
    c->slot_id.assign(devices::kSlotIdBytes, 's');
    c->secret.assign(devices::kLinkSecretBytes, 'S');
    return c;
  }();
  static devices::EphemeralKey* const ours = new devices::EphemeralKey();
  FUZZ_CHECK(!devices::OpenProvisioning(*code, *ours, sealed).ok(),
             "nothing opens that was not sealed with the code");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: LinkCode(rest); break;
    case 1: RecoveryKey(rest); break;
    case 2: Manifest(rest); break;
    case 3: SignatureFile(rest); break;
    case 4: RecordJson(rest); break;
    default: Provisioning(rest); break;
  }
  return 0;
}
