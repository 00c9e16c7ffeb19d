#ifndef SOTTO_CLIENT_LIB_RECORD_RECORD_FORMAT_H_
#define SOTTO_CLIENT_LIB_RECORD_RECORD_FORMAT_H_

// The clinical record's files as bytes (docs/RECORD.md is the contract;
// keep the two in step): record.json, the canonical encoding each digest is
// taken over, the signed manifest and record.sig. Pure functions: no
// profile, no files, no network — the export and the verifier share them,
// so that what is signed and what is checked cannot drift apart.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::client::record {

inline constexpr char kFormatName[] = "sotto-clinical-record";
inline constexpr int kFormatVersion = 1;
inline constexpr char kSignatureFormatName[] = "sotto-clinical-record-signature";
inline constexpr char kSignatureAlgorithm[] = "XEdDSA-Curve25519";
inline constexpr char kManifestFirstLine[] = "sotto-clinical-record-manifest 1";

// One message as the record holds it: every member is text, in the order
// of kMessageMembers (numbers as decimal text, times 0/"" when unknown).
struct RecordMessage {
  std::string id, direction, from, to, kind, subject, body, in_reply_to, thread_id;
  int64_t server_time_ms = 0;
  int64_t sent_at_ms = 0;
  std::string state;
};

// The record's header: everything but the messages.
struct RecordHeader {
  std::string exporter_handle;
  std::string exporter_role;  // "therapist" | "client"
  std::string identity_key;   // 33 bytes (base64 in the file)
  std::string peer;
  std::optional<int64_t> from_ms;  // nullopt: no lower bound
  std::optional<int64_t> to_ms;    // nullopt: no upper bound
  int64_t exported_at_ms = 0;
  int64_t message_count = 0;
};

// `unix_ms` as "2026-12-01T09:00:00.000Z"; "" for 0.
std::string IsoTime(int64_t unix_ms);

// `text` with each invalid UTF-8 byte replaced by U+FFFD: JSON carries only
// valid UTF-8, and the digest must be over what the file really holds.
std::string ValidUtf8(absl::string_view text);

// record.json, indented by two spaces, ending in a newline.
std::string RecordJson(const RecordHeader& header, const std::vector<RecordMessage>& messages);

// The canonical encodings' SHA-256 digests, lowercase hex. A message's is
// over its members as record.json holds them; the verifier computes the
// same from the parsed file (ParsedRecord), whatever types were put there.
std::string MessageDigest(const RecordMessage& message);
std::string HeaderDigest(const RecordHeader& header);
// SHA-256 of `bytes`, lowercase hex.
std::string Sha256Hex(absl::string_view bytes);

// record.json as read back: the header's and each message's digest, their
// ids and times, and the header's fields for the report. A member of the
// wrong type is taken as its JSON text (so a changed type is an altered
// message, not an unreadable file).
struct ParsedMessage {
  std::string id;
  std::string server_time;  // as written, for the report
  std::string digest;
};
struct ParsedRecord {
  RecordHeader header;  // identity_key decoded from base64 ("" if not)
  std::string header_digest;
  std::vector<ParsedMessage> messages;
};
// DATA_LOSS naming what is wrong when `json` is not JSON, not an object with
// "format" = kFormatName, or has no "messages" array; FAILED_PRECONDITION for
// a version this library does not know.
absl::StatusOr<ParsedRecord> ParseRecordJson(absl::string_view json);

// The manifest: what is signed.
struct ManifestEntry {
  std::string id;
  int64_t server_time_ms = 0;
  std::string digest;
};
struct Manifest {
  std::string json_sha256;
  std::string html_sha256;
  std::string header_digest;
  std::vector<ManifestEntry> messages;
};
std::string ManifestText(const Manifest& manifest);
// DATA_LOSS naming the line that is wrong.
absl::StatusOr<Manifest> ParseManifest(absl::string_view text);

// record.sig: the signer, their key, the manifest text and the signature.
struct SignatureFile {
  std::string signer;
  std::string identity_key;  // 33 bytes
  std::string manifest;
  std::string signature;  // 64 bytes
};
std::string SignatureFileText(const SignatureFile& file);
// DATA_LOSS naming what is wrong.
absl::StatusOr<SignatureFile> ParseSignatureFile(absl::string_view text);

}  // namespace sotto::client::record

#endif  // SOTTO_CLIENT_LIB_RECORD_RECORD_FORMAT_H_
