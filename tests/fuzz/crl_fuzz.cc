// Fuzzes the client's CRL handling (client-lib/transport/crl.h): ParseCrls,
// MergeCrls and CheckCrlsCurrent. The PEM comes from a file the user was
// handed (`sotto --crl FILE`) or from the profile, so it is not ours.
//
// The first byte chooses the form: even, the rest is the PEM text as given;
// odd, the rest is one CRL's DER, wrapped here in a PEM block, so that the
// fuzzer mutates the ASN.1 itself rather than base64 it must keep valid.
//
// Invariants:
//   - ParseCrls: OK means at least one CRL, each one's `pem` parsing back to
//     exactly that CRL (same issuer and dates), each issuer printable ASCII
//     (it is quoted in error messages); a refusal is INVALID_ARGUMENT;
//   - for a non-empty x, MergeCrls(x, "") is DATA_LOSS exactly when
//     ParseCrls(x) fails, and MergeCrls("", x) INVALID_ARGUMENT (empty is
//     "no CRLs" and merges to empty); on success the result holds one CRL
//     per issuer, no more CRLs than x, and merging it again with x (or with
//     nothing) changes nothing, so a stored list is never replaced by an
//     older one;
//   - CheckCrlsCurrent is OK, FAILED_PRECONDITION (parsed but out of date)
//     or, exactly when ParseCrls fails, INVALID_ARGUMENT.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client-lib/transport/crl.h"
#include "tests/fuzz/fuzz_check.h"

namespace transport = sotto::client::transport;

namespace {

std::string PemOfDer(const std::string& der) {
  std::string body = absl::Base64Escape(der);
  std::string pem = "-----BEGIN X509 CRL-----\n";
  for (size_t i = 0; i < body.size(); i += 64) absl::StrAppend(&pem, body.substr(i, 64), "\n");
  return absl::StrCat(pem, "-----END X509 CRL-----\n");
}

bool PrintableAscii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

void CheckParsed(const std::vector<transport::CrlInfo>& crls) {
  FUZZ_CHECK(!crls.empty(), "ParseCrls OK with no CRL");
  for (const transport::CrlInfo& c : crls) {
    FUZZ_CHECK(PrintableAscii(c.issuer), "issuer name is not printable ASCII");
    absl::StatusOr<std::vector<transport::CrlInfo>> again = transport::ParseCrls(c.pem);
    FUZZ_CHECK(again.ok() && again->size() == 1, "a parsed CRL's PEM does not parse alone");
    FUZZ_CHECK((*again)[0].issuer == c.issuer, "issuer changes across PEM");
    FUZZ_CHECK((*again)[0].last_update == c.last_update, "lastUpdate changes across PEM");
    FUZZ_CHECK((*again)[0].next_update == c.next_update, "nextUpdate changes across PEM");
    FUZZ_CHECK((*again)[0].pem == c.pem, "PEM is not stable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string x = (data[0] & 1) ? PemOfDer(rest) : rest;

  absl::StatusOr<std::vector<transport::CrlInfo>> parsed = transport::ParseCrls(x);
  if (parsed.ok()) {
    CheckParsed(*parsed);
  } else {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               "bad CRL PEM not INVALID_ARGUMENT");
  }

  absl::StatusOr<std::string> stored = transport::MergeCrls(x, "");
  absl::StatusOr<std::string> given = transport::MergeCrls("", x);
  if (x.empty()) {
    // Empty is "no CRLs" on either side, not a bad list.
    FUZZ_CHECK(stored.ok() && stored->empty() && given.ok() && given->empty(),
               "merging nothing is not nothing");
  } else if (!parsed.ok()) {
    FUZZ_CHECK(stored.status().code() == absl::StatusCode::kDataLoss,
               "unparsable stored CRLs not DATA_LOSS");
    FUZZ_CHECK(given.status().code() == absl::StatusCode::kInvalidArgument,
               "unparsable given CRLs not INVALID_ARGUMENT");
  } else {
    FUZZ_CHECK(stored.ok() && given.ok() && *stored == *given, "merge depends on the side");
    absl::StatusOr<std::vector<transport::CrlInfo>> merged = transport::ParseCrls(*given);
    FUZZ_CHECK(merged.ok(), "merged CRLs do not parse");
    FUZZ_CHECK(merged->size() <= parsed->size(), "merging added CRLs");
    std::set<std::string> issuers;
    for (const transport::CrlInfo& c : *merged) {
      FUZZ_CHECK(issuers.insert(c.issuer).second, "two CRLs of one issuer after merging");
    }
    absl::StatusOr<std::string> again = transport::MergeCrls(*given, x);
    FUZZ_CHECK(again.ok() && *again == *given, "merging the same CRLs again changes the result");
    absl::StatusOr<std::string> alone = transport::MergeCrls(*given, "");
    FUZZ_CHECK(alone.ok() && *alone == *given, "re-merging the stored CRLs changes them");
  }

  const absl::Status current = transport::CheckCrlsCurrent(x, absl::FromUnixSeconds(1'800'000'000));
  if (x.empty()) {
    FUZZ_CHECK(current.ok(), "no CRLs is not current");
  } else if (parsed.ok()) {
    FUZZ_CHECK(current.ok() || current.code() == absl::StatusCode::kFailedPrecondition,
               "CheckCrlsCurrent of parsed CRLs neither OK nor FAILED_PRECONDITION");
  } else {
    FUZZ_CHECK(current.code() == absl::StatusCode::kInvalidArgument,
               "CheckCrlsCurrent of bad CRLs not INVALID_ARGUMENT");
  }
  return 0;
}
