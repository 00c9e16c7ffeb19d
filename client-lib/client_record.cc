// sotto::Client: the clinical record (issue 16) — the facade's two calls;
// the work is in record/.

#include "client-lib/record/record_export.h"
#include "sotto/client.h"

namespace sotto {

absl::StatusOr<RecordExportResult> Client::ExportRecord(absl::string_view peer,
                                                        const RecordExportOptions& options) {
  return client::record::ExportRecord(session(), peer, options);
}

absl::StatusOr<RecordSignerMatch> Client::CheckRecordSigner(absl::string_view handle,
                                                            absl::string_view identity_key) {
  return client::record::CheckRecordSigner(session(), handle, identity_key);
}

}  // namespace sotto
