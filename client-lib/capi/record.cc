// The C API (sotto/sotto.h), part 6: the clinical record (issue 16) —
// exporting a conversation and verifying an export.

#include "sotto/record.h"

#include <string>

#include "absl/strings/str_join.h"
#include "client-lib/capi/capi_internal.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

extern "C" {

int sotto_export_record(sotto_client* client, const char* peer, const char* out_dir,
                        int64_t from_ms, int64_t to_ms, size_t* message_count, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view who, Text(peer, "peer"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view dir, Text(out_dir, "out_dir"));
    sotto::RecordExportOptions options;
    options.out_dir = std::string(dir);
    if (from_ms != 0) options.from = absl::FromUnixMillis(from_ms);
    if (to_ms != 0) options.to = absl::FromUnixMillis(to_ms);
    SOTTO_ASSIGN_OR_RETURN(sotto::RecordExportResult result, c->ExportRecord(who, options));
    if (message_count != nullptr) *message_count = result.message_count;
    return absl::OkStatus();
  });
}

int sotto_verify_export(const char* dir, int* verified, char** problems, char** signer,
                        char** signer_fingerprint, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(verified, "verified"));
    *verified = 0;
    for (char** out : {problems, signer, signer_fingerprint}) {
      if (out != nullptr) *out = nullptr;
    }
    SOTTO_ASSIGN_OR_RETURN(absl::string_view path, Text(dir, "dir"));
    SOTTO_ASSIGN_OR_RETURN(sotto::RecordVerification v, sotto::VerifyRecordExport(path));
    *verified = v.ok() ? 1 : 0;
    if (problems != nullptr) *problems = CopyString(absl::StrJoin(v.problems, "\n"));
    if (signer != nullptr) *signer = CopyString(v.signer_handle);
    if (signer_fingerprint != nullptr) *signer_fingerprint = CopyString(v.signer_fingerprint);
    return absl::OkStatus();
  });
}

}  // extern "C"
