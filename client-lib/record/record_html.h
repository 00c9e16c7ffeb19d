#ifndef SOTTO_CLIENT_LIB_RECORD_RECORD_HTML_H_
#define SOTTO_CLIENT_LIB_RECORD_RECORD_HTML_H_

// record.html: the clinical record as a document to read and print — one
// static page, its stylesheet inline (screen and print), no script, no
// resource from anywhere. Every text from the history is escaped (HtmlEscape):
// a message holding markup shows as that text, it does not become markup.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client-lib/record/record_format.h"

namespace sotto::client::record {

// & < > " ' as character references; everything else as it is.
std::string HtmlEscape(absl::string_view text);

// The page for `header` and `messages` (as in record.json); `fingerprint`
// is the exporter's half of the safety number, printed for the reader.
std::string RecordHtml(const RecordHeader& header, const std::vector<RecordMessage>& messages,
                       absl::string_view fingerprint);

}  // namespace sotto::client::record

#endif  // SOTTO_CLIENT_LIB_RECORD_RECORD_HTML_H_
