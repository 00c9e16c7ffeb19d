#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_RECORD_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_RECORD_H_

/// @file
/// The clinical record (issue 16): one conversation exported to a directory
/// as a signed, machine-readable record and a readable document, and the
/// check that names what was changed in one. docs/RECORD.md describes the
/// files exactly, so that another program can verify them.
///
/// An export is made by Client::ExportRecord (client.h) from the local
/// history alone: nothing goes to the server. VerifyRecordExport needs no
/// profile and no network; Client::CheckRecordSigner adds what a profile
/// knows about the signer.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sotto/export.h"

namespace sotto {

/// The files of an export, in its directory: the machine-readable record,
inline constexpr char kRecordJsonFile[] = "record.json";
/// the document to read and print,
inline constexpr char kRecordHtmlFile[] = "record.html";
/// and the signature over both (docs/RECORD.md).
inline constexpr char kRecordSignatureFile[] = "record.sig";

/// What Client::ExportRecord exports.
struct RecordExportOptions {
  /// The directory to write into: created (mode 0700) if missing; refused
  /// (ALREADY_EXISTS) if it already holds any file of an export.
  std::string out_dir;
  /// Only messages the server accepted in [from, to) — for one not (yet) on
  /// the server, the time its sender wrote it. Infinite: no bound.
  absl::Time from = absl::InfinitePast();
  absl::Time to = absl::InfiniteFuture();  ///< The end of the range, excluded.
};

/// What an export wrote.
struct RecordExportResult {
  /// The directory, as given.
  std::string dir;
  /// Messages in the record.
  size_t message_count = 0;
  /// The exporter's half of a safety number (30 digits, 6 groups of 5
  /// separated by spaces): what a reader of the record compares.
  std::string signer_fingerprint;
};

/// What VerifyRecordExport found. `problems` is empty exactly when the
/// record is intact: signed by the key it names, no message altered,
/// removed or added, the header and both files as signed.
struct RecordVerification {
  /// One sentence per finding, e.g. "message 3f2a… (sent 2026-12-01
  /// 09:00:00Z) was altered", "message … was removed", "a message was
  /// added: …", "the header was altered …", "the signature does not
  /// verify …". When the signature fails nothing else is checked (nothing
  /// else can be trusted).
  std::vector<std::string> problems;
  /// Ids (hex) of the messages whose content differs from what was signed,
  /// that were signed but are missing, and that are present but were not
  /// signed.
  std::vector<std::string> altered;
  std::vector<std::string> removed;  ///< Signed, but missing from record.json.
  std::vector<std::string> added;    ///< In record.json, but never signed.
  /// The signer as the signature file names them, and their identity key
  /// (33 bytes). Set whenever the signature file could be read.
  std::string signer_handle;
  std::string signer_identity_key;  ///< 33 bytes: 0x05 and the Curve25519 key.
  /// IdentityFingerprintHalf of the signer: compare it with the safety
  /// number you hold with them (it is one of its two halves).
  std::string signer_fingerprint;
  /// From the record's header (as written, whether or not it verified).
  std::string signer_role;
  std::string peer;            ///< The other side of the conversation.
  int64_t exported_at_ms = 0;  ///< When the export was made (Unix ms).
  size_t message_count = 0;    ///< Messages in record.json.

  /// True when the record is intact (no problem found).
  bool ok() const { return problems.empty(); }
};

/// Checks the export in `dir` (docs/RECORD.md). Needs no Client, no profile
/// and no network; thread-safe. Findings about the content are in the
/// result (see RecordVerification); errors are for a directory that holds
/// no export to check: NOT_FOUND naming the missing file (record.json or
/// record.sig), DATA_LOSS when record.sig or record.json is not the format
/// (names the file and what is wrong).
///
/// A valid signature proves the record is what the holder of the named
/// identity key signed — not who that is: compare signer_fingerprint with
/// the safety number, or use Client::CheckRecordSigner.
SOTTO_EXPORT absl::StatusOr<RecordVerification> VerifyRecordExport(absl::string_view dir);

/// How a signer's key compares with what a profile knows
/// (Client::CheckRecordSigner).
enum class RecordSignerMatch {
  /// The signer is this account and the key is this device's own.
  kOwnKey = 1,
  /// The key is the one trusted for that contact, and it was verified
  /// (safety number compared).
  kVerifiedContact = 2,
  /// The key is the one trusted for that contact, never verified.
  kUnverifiedContact = 3,
  /// The profile knows another key for that handle (or, for this account's
  /// own handle, this device has another key): do not trust the record.
  kDifferentKey = 4,
  /// The profile knows no key for that handle.
  kUnknown = 5,
};

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_RECORD_H_
