// VerifyRecordExport (sotto/record.h): checks an export against its
// signature, needing no profile. The order matters: only once the manifest
// is known to be the signer's can it be used to name what changed.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "client-lib/record/record_export.h"
#include "client-lib/record/record_format.h"
#include "client-lib/signal/identity_signature.h"
#include "sotto/record.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

using client::record::Manifest;
using client::record::ManifestEntry;
using client::record::ParsedMessage;
using client::record::ParsedRecord;
using client::record::SignatureFile;

// The file's bytes; nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::optional<std::string>(std::move(bytes));
}

absl::StatusOr<std::string> ReadRequired(const std::string& dir, const char* name) {
  const std::string path = absl::StrCat(dir, "/", name);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFile(path));
  if (!bytes) {
    return absl::NotFoundError(absl::StrCat(path, " does not exist: ", dir,
                                            " is not a Sotto record export (or it is incomplete)"));
  }
  return *std::move(bytes);
}

std::string Sent(const std::string& iso) {
  return iso.empty() ? "" : absl::StrCat(" (sent ", iso, ")");
}

// Names every message whose digest differs from the signed one, every
// signed message that is gone and every message nobody signed.
void CompareMessages(const Manifest& manifest, const ParsedRecord& record,
                     RecordVerification& out) {
  std::map<std::string, const ManifestEntry*> signed_by_id;
  for (const ManifestEntry& e : manifest.messages) signed_by_id[e.id] = &e;
  std::set<std::string> seen;
  for (const ParsedMessage& m : record.messages) {
    auto it = signed_by_id.find(m.id);
    if (it == signed_by_id.end() || !seen.insert(m.id).second) {
      out.added.push_back(m.id);
      out.problems.push_back(absl::StrCat("a message was added that was not signed: ",
                                          m.id.empty() ? "(no id)" : m.id, Sent(m.server_time)));
      continue;
    }
    if (it->second->digest != m.digest) {
      out.altered.push_back(m.id);
      out.problems.push_back(absl::StrCat("message ", m.id,
                                          Sent(client::record::IsoTime(it->second->server_time_ms)),
                                          " was altered"));
    }
  }
  for (const ManifestEntry& e : manifest.messages) {
    if (seen.count(e.id) != 0) continue;
    out.removed.push_back(e.id);
    out.problems.push_back(absl::StrCat(
        "message ", e.id, Sent(client::record::IsoTime(e.server_time_ms)), " was removed"));
  }
}

}  // namespace

absl::StatusOr<RecordVerification> VerifyRecordExport(absl::string_view dir_view) {
  const std::string dir(dir_view);
  SOTTO_ASSIGN_OR_RETURN(std::string sig_text, ReadRequired(dir, kRecordSignatureFile));
  SOTTO_ASSIGN_OR_RETURN(std::string json, ReadRequired(dir, kRecordJsonFile));
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> html,
                         ReadFile(absl::StrCat(dir, "/", kRecordHtmlFile)));
  SOTTO_ASSIGN_OR_RETURN(SignatureFile sig, client::record::ParseSignatureFile(sig_text));

  RecordVerification out;
  out.signer_handle = sig.signer;
  out.signer_identity_key = sig.identity_key;
  absl::StatusOr<std::string> digits =
      client::signal::IdentityFingerprintHalf(sig.signer, sig.identity_key);
  if (digits.ok()) out.signer_fingerprint = client::record::GroupDigits(*digits);
  absl::Status signature =
      client::signal::VerifyIdentitySignature(sig.identity_key, sig.manifest, sig.signature);
  if (!signature.ok()) {
    out.problems.push_back(
        absl::StrCat("the signature does not verify with the identity key in record.sig (",
                     signature.message(), "): nothing in this export can be trusted"));
    return out;
  }
  SOTTO_ASSIGN_OR_RETURN(Manifest manifest, client::record::ParseManifest(sig.manifest));
  SOTTO_ASSIGN_OR_RETURN(ParsedRecord record, client::record::ParseRecordJson(json));
  out.signer_role = record.header.exporter_role;
  out.peer = record.header.peer;
  out.exported_at_ms = record.header.exported_at_ms;
  out.message_count = record.messages.size();

  if (record.header_digest != manifest.header_digest) {
    out.problems.push_back(
        "the header was altered (who exported it, their key, the peer, the period, the export "
        "time or the message count differ from what was signed)");
  } else if (record.header.identity_key != sig.identity_key ||
             record.header.exporter_handle != sig.signer) {
    // The header is as signed, but record.sig names someone else: a
    // signature file taken from another export.
    out.problems.push_back(
        "record.sig names another signer or key than record.json's header: the signature is "
        "not this record's");
  }
  CompareMessages(manifest, record, out);
  if (out.problems.empty() && client::record::Sha256Hex(json) != manifest.json_sha256) {
    out.problems.push_back(
        "record.json was changed outside its messages and header (reformatted, or a member "
        "added): every message still matches, but the file is not the one signed");
  }
  if (!html) {
    out.problems.push_back("record.html is missing");
  } else if (client::record::Sha256Hex(*html) != manifest.html_sha256) {
    out.problems.push_back("record.html was altered: it is not the document that was signed");
  }
  return out;
}

}  // namespace sotto
