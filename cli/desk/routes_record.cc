// /api/record: the clinical record of a conversation (docs/RECORD.md), as
// `sotto export` and `sotto verify-export`: written from this device's
// history into a directory on this machine, never through the server.

#include <string>

#include "absl/time/time.h"
#include "api.h"
#include "sotto/record.h"

namespace sotto::desk {
namespace {

// What the profile knows of a signer's key, for the page to say.
const char* MatchName(RecordSignerMatch match) {
  switch (match) {
    case RecordSignerMatch::kOwnKey:
      return "own";
    case RecordSignerMatch::kVerifiedContact:
      return "verified";
    case RecordSignerMatch::kUnverifiedContact:
      return "unverified";
    case RecordSignerMatch::kDifferentKey:
      return "different";
    case RecordSignerMatch::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace

void AddRecordRoutes(Api& api) {
  // Exports the conversation with "peer" into "dir" (absolute; created, and
  // refused if it holds an export), messages the server took in
  // ["from_ms", "to_ms") when given.
  api.Route(
      "POST", "/api/record/export",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> peer = StringMember(body, "peer");
        if (!peer.ok()) return peer.status();
        absl::StatusOr<std::string> dir = AbsolutePathMember(body, "dir");
        if (!dir.ok()) return dir.status();
        RecordExportOptions options;
        options.out_dir = *dir;
        absl::StatusOr<int64_t> from = IntMember(body, "from_ms", 0, true);
        if (!from.ok()) return from.status();
        absl::StatusOr<int64_t> to = IntMember(body, "to_ms", 0, true);
        if (!to.ok()) return to.status();
        if (*from != 0) options.from = absl::FromUnixMillis(*from);
        if (*to != 0) options.to = absl::FromUnixMillis(*to);
        if (options.to <= options.from) {
          return absl::InvalidArgumentError("\"to_ms\" must be after \"from_ms\"");
        }
        absl::StatusOr<RecordExportResult> made = client.ExportRecord(*peer, options);
        if (!made.ok()) return made.status();
        return Dump({{"dir", made->dir},
                     {"message_count", made->message_count},
                     {"signer_fingerprint", made->signer_fingerprint}});
      });
  // Checks the export in "dir": what VerifyRecordExport found, and how the
  // signer's key compares with what this profile knows ("signer_match").
  api.Route(
      "POST", "/api/record/verify",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> dir = AbsolutePathMember(body, "dir");
        if (!dir.ok()) return dir.status();
        absl::StatusOr<RecordVerification> v = VerifyRecordExport(*dir);
        if (!v.ok()) return v.status();
        Json match = nullptr;
        if (v->ok()) {
          absl::StatusOr<RecordSignerMatch> m =
              client.CheckRecordSigner(v->signer_handle, v->signer_identity_key);
          if (m.ok()) match = MatchName(*m);
        }
        return Dump({{"ok", v->ok()},
                     {"problems", v->problems},
                     {"signer_handle", v->signer_handle},
                     {"signer_fingerprint", v->signer_fingerprint},
                     {"signer_match", match},
                     {"peer", v->peer},
                     {"message_count", v->message_count},
                     {"exported_at_ms", v->exported_at_ms}});
      });
}

}  // namespace sotto::desk
