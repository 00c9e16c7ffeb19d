#include "client-lib/record/record_html.h"

#include "absl/strings/str_cat.h"

namespace sotto::client::record {
namespace {

// Screen: a readable column. Print: black on white, no backgrounds, each
// message kept on one page where it fits (one longer than a page breaks in
// its body, never between its header line and its first lines), the ids
// small but present (they are what record.json and `sotto verify-export`
// name). Every printed page also carries the record's running header (who,
// which period) and its page number: see RunningHeaderStyle.
constexpr char kStyle[] = R"(
body { font-family: Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #111; line-height: 1.45; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
table.meta { border-collapse: collapse; margin: 1em 0 2em; }
table.meta th { text-align: left; padding: .15em 1em .15em 0; font-weight: normal; color: #444; }
table.meta td { padding: .15em 0; }
.fingerprint { font-family: "DejaVu Sans Mono", monospace; letter-spacing: .05em; }
article { border-top: 1px solid #bbb; padding: .8em 0 1em; }
article.sent { background: #f6f8fb; }
.head { font-size: .9em; color: #333; }
.head .dir { font-weight: bold; }
.subject { font-weight: bold; margin: .3em 0; }
.thread, .id { font-size: .8em; color: #555; font-family: "DejaVu Sans Mono", monospace; }
.body { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .4em; }
footer { margin-top: 2em; font-size: .85em; color: #444; border-top: 1px solid #bbb;
         padding-top: .5em; }
@media print {
  body { max-width: none; margin: 0; font-size: 11pt; color: #000; }
  h1 { margin-top: 0; }
  table.meta { break-inside: avoid; page-break-inside: avoid; }
  article { break-inside: avoid; page-break-inside: avoid; border-top-color: #000; }
  article.sent { background: none; }
  .head, .subject, .thread { break-after: avoid; page-break-after: avoid;
                             break-inside: avoid; page-break-inside: avoid; }
  .body { orphans: 3; widows: 3; }
  a { color: inherit; text-decoration: none; }
  .head, .thread, .id, footer, table.meta th { color: #000; }
}
)";

// `text` as a CSS string literal: quotes, backslashes and anything that
// could end the <style> element or the line escaped as hex.
std::string CssString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, "\\", absl::Hex(u), " ");
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The running header of every printed page (CSS page-margin boxes): a page
// that strays from the others still says whose record it is, of which
// period, and which page of how many.
std::string RunningHeaderStyle(const RecordHeader& header, absl::string_view range) {
  return absl::StrCat(
      "\n@media print {\n  @page { margin: 2cm;\n    @top-left { content: ",
      CssString(absl::StrCat("Clinical record: ", header.exporter_handle, " and ", header.peer)),
      "; font-size: 9pt; }\n    @top-right { content: ", CssString(range),
      "; font-size: 9pt; }\n    @bottom-right { content: counter(page) \" / \" counter(pages);"
      " font-size: 9pt; }\n  }\n}\n");
}

std::string Row(absl::string_view label, absl::string_view value) {
  return absl::StrCat("<tr><th>", label, "</th><td>", value, "</td></tr>\n");
}

std::string OrDash(const std::string& iso) { return iso.empty() ? "&#8212;" : iso; }

std::string ArticleHtml(const RecordMessage& m) {
  const bool sent = m.direction == "sent";
  std::string out =
      absl::StrCat("<article class=\"", sent ? "sent" : "received", "\" id=\"m-", HtmlEscape(m.id),
                   "\">\n<div class=\"head\"><span class=\"dir\">", HtmlEscape(m.from), " &#8594; ",
                   HtmlEscape(m.to), "</span> &#183; ", m.kind == "letter" ? "letter" : "text",
                   " &#183; server time ", OrDash(IsoTime(m.server_time_ms)), " &#183; written ",
                   OrDash(IsoTime(m.sent_at_ms)), " &#183; ", HtmlEscape(m.state), "</div>\n");
  if (!m.subject.empty()) {
    absl::StrAppend(&out, "<div class=\"subject\">", HtmlEscape(m.subject), "</div>\n");
  }
  if (!m.in_reply_to.empty()) {
    absl::StrAppend(&out, "<div class=\"thread\">in reply to <a href=\"#m-",
                    HtmlEscape(m.in_reply_to), "\">", HtmlEscape(m.in_reply_to), "</a></div>\n");
  }
  absl::StrAppend(&out, "<div class=\"body\">", HtmlEscape(m.body), "</div>\n",
                  "<div class=\"id\">id ", HtmlEscape(m.id), "</div>\n</article>\n");
  return out;
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RecordHtml(const RecordHeader& header, const std::vector<RecordMessage>& messages,
                       absl::string_view fingerprint) {
  const std::string range =
      absl::StrCat(header.from_ms ? IsoTime(*header.from_ms) : "the beginning", " to ",
                   header.to_ms ? IsoTime(*header.to_ms) : "the export");
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      // No script, no resource from elsewhere, whatever a browser is told.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n",
      "<title>Clinical record: ", HtmlEscape(header.exporter_handle), " and ",
      HtmlEscape(header.peer), "</title>\n<style>", kStyle, RunningHeaderStyle(header, range),
      "</style>\n</head>\n<body>\n",
      "<h1>Clinical record</h1>\n<table class=\"meta\">\n",
      Row("Conversation",
          absl::StrCat(HtmlEscape(header.exporter_handle), " and ", HtmlEscape(header.peer))),
      Row("Exported by", absl::StrCat(HtmlEscape(header.exporter_handle), " (",
                                      HtmlEscape(header.exporter_role), ")")),
      Row("Exported at", IsoTime(header.exported_at_ms)), Row("Period", range),
      Row("Messages", absl::StrCat(messages.size())),
      Row("Signer's identity",
          absl::StrCat("<span class=\"fingerprint\">", HtmlEscape(fingerprint), "</span>")),
      "</table>\n");
  for (const RecordMessage& m : messages) absl::StrAppend(&out, ArticleHtml(m));
  absl::StrAppend(
      &out,
      "<footer>This document is a rendering of record.json, which is signed with the exporter's "
      "identity key (record.sig). Check both with <code>sotto verify-export DIRECTORY</code>; "
      "compare the signer's identity above with the safety number you hold with them. Times "
      "are UTC.</footer>\n</body>\n</html>\n");
  return out;
}

}  // namespace sotto::client::record
