#ifndef SOTTO_CLIENT_LIB_RECORD_RECORD_EXPORT_H_
#define SOTTO_CLIENT_LIB_RECORD_RECORD_EXPORT_H_

// Client::ExportRecord and Client::CheckRecordSigner (sotto/record.h): the
// clinical record made from the local history and signed with the
// identity key, under the profile's lock, without a call to the server.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/record.h"

namespace sotto::client::record {

absl::StatusOr<RecordExportResult> ExportRecord(ProfileSession& session, absl::string_view peer,
                                                const RecordExportOptions& options);

absl::StatusOr<RecordSignerMatch> CheckRecordSigner(ProfileSession& session,
                                                    absl::string_view handle,
                                                    absl::string_view identity_key);

// 30 digits as 6 groups of 5 separated by spaces (anything else unchanged).
std::string GroupDigits(absl::string_view digits);

}  // namespace sotto::client::record

#endif  // SOTTO_CLIENT_LIB_RECORD_RECORD_EXPORT_H_
