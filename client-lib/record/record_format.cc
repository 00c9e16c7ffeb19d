#include "client-lib/record/record_format.h"

#include <openssl/sha.h>

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace sotto::client::record {
namespace {

// Keys in the order they are added, so the file reads as docs/RECORD.md
// lists them.
using Json = nlohmann::ordered_json;

// Every member of a message, in the order of the file and of its canonical
// encoding (docs/RECORD.md "Digests").
constexpr std::array<const char*, 14> kMessageMembers = {
    "id",          "direction", "from",           "to",          "kind",       "subject", "body",
    "in_reply_to", "thread_id", "server_time_ms", "server_time", "sent_at_ms", "sent_at", "state"};

// A member as text: a string as it is, an integer in decimal, null or
// missing as "", anything else as its JSON text. Never throws.
template <typename J>
std::string FieldText(const J& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->template get_ref<const std::string&>();
  if (it->is_number_integer()) return std::to_string(it->template get<int64_t>());
  if (it->is_number_unsigned()) return std::to_string(it->template get<uint64_t>());
  return it->dump(-1, ' ', false, J::error_handler_t::replace);
}

void AppendField(std::string& out, absl::string_view field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(length, 4);
  out.append(field.data(), field.size());
}

template <typename J>
std::string MessageDigestOf(const J& object) {
  std::string canonical;
  AppendField(canonical, "sotto-clinical-record-message 1");
  for (const char* key : kMessageMembers) AppendField(canonical, FieldText(object, key));
  return Sha256Hex(canonical);
}

// The header's members, by their path in the file.
template <typename J>
std::string HeaderDigestOf(const J& root) {
  static const J kEmpty = J::object();
  auto member = [&](const J& parent, const char* key) -> const J& {
    auto it = parent.find(key);
    return it != parent.end() && it->is_object() ? *it : kEmpty;
  };
  const J& by = member(root, "exported_by");
  const J& range = member(root, "range");
  std::string canonical;
  AppendField(canonical, "sotto-clinical-record-header 1");
  for (const char* key : {"format", "version"}) AppendField(canonical, FieldText(root, key));
  for (const char* key : {"handle", "role", "identity_key"}) {
    AppendField(canonical, FieldText(by, key));
  }
  AppendField(canonical, FieldText(root, "peer"));
  for (const char* key : {"from_ms", "from", "to_ms", "to"}) {
    AppendField(canonical, FieldText(range, key));
  }
  for (const char* key : {"exported_at_ms", "exported_at", "message_count"}) {
    AppendField(canonical, FieldText(root, key));
  }
  return Sha256Hex(canonical);
}

Json MessageJson(const RecordMessage& m) {
  Json j = Json::object();
  j["id"] = m.id;
  j["direction"] = m.direction;
  j["from"] = ValidUtf8(m.from);
  j["to"] = ValidUtf8(m.to);
  j["kind"] = m.kind;
  j["subject"] = ValidUtf8(m.subject);
  j["body"] = ValidUtf8(m.body);
  j["in_reply_to"] = m.in_reply_to;
  j["thread_id"] = m.thread_id;
  j["server_time_ms"] = m.server_time_ms;
  j["server_time"] = IsoTime(m.server_time_ms);
  j["sent_at_ms"] = m.sent_at_ms;
  j["sent_at"] = IsoTime(m.sent_at_ms);
  j["state"] = m.state;
  return j;
}

Json HeaderJson(const RecordHeader& h) {
  Json j = Json::object();
  j["format"] = kFormatName;
  j["version"] = kFormatVersion;
  j["exported_by"] = Json{{"handle", h.exporter_handle},
                          {"role", h.exporter_role},
                          {"identity_key", absl::Base64Escape(h.identity_key)}};
  j["peer"] = h.peer;
  Json range = Json::object();
  range["from_ms"] = h.from_ms ? Json(*h.from_ms) : Json(nullptr);
  range["from"] = h.from_ms ? Json(IsoTime(*h.from_ms)) : Json(nullptr);
  range["to_ms"] = h.to_ms ? Json(*h.to_ms) : Json(nullptr);
  range["to"] = h.to_ms ? Json(IsoTime(*h.to_ms)) : Json(nullptr);
  j["range"] = std::move(range);
  j["exported_at_ms"] = h.exported_at_ms;
  j["exported_at"] = IsoTime(h.exported_at_ms);
  j["message_count"] = h.message_count;
  return j;
}

absl::StatusOr<int64_t> ParseInt(absl::string_view text, absl::string_view what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::DataLossError(
        absl::StrCat("the manifest's ", what, " \"", text, "\" is not a number"));
  }
  return value;
}

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string IsoTime(int64_t unix_ms) {
  if (unix_ms == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string ValidUtf8(absl::string_view text) {
  // nlohmann's own replacement, so the text is exactly what dump() writes.
  std::string quoted = nlohmann::json(std::string(text))
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string MessageDigest(const RecordMessage& message) {
  return MessageDigestOf(MessageJson(message));
}

std::string HeaderDigest(const RecordHeader& header) { return HeaderDigestOf(HeaderJson(header)); }

std::string RecordJson(const RecordHeader& header, const std::vector<RecordMessage>& messages) {
  Json root = HeaderJson(header);
  Json list = Json::array();
  for (const RecordMessage& m : messages) list.push_back(MessageJson(m));
  root["messages"] = std::move(list);
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

absl::StatusOr<ParsedRecord> ParseRecordJson(absl::string_view text) {
  nlohmann::json root = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return absl::DataLossError("record.json is not a JSON object");
  }
  if (FieldText(root, "format") != kFormatName) {
    return absl::DataLossError(
        absl::StrCat("record.json is not a Sotto clinical record (its \"format\" is not \"",
                     kFormatName, "\")"));
  }
  if (FieldText(root, "version") != std::to_string(kFormatVersion)) {
    return absl::FailedPreconditionError(
        absl::StrCat("record.json is version ", FieldText(root, "version"),
                     " of the format; this version of Sotto reads version ", kFormatVersion));
  }
  auto list = root.find("messages");
  if (list == root.end() || !list->is_array()) {
    return absl::DataLossError("record.json has no \"messages\" array");
  }
  ParsedRecord out;
  out.header_digest = HeaderDigestOf(root);
  auto by = root.find("exported_by");
  if (by != root.end() && by->is_object()) {
    out.header.exporter_handle = FieldText(*by, "handle");
    out.header.exporter_role = FieldText(*by, "role");
    std::string key;
    if (absl::Base64Unescape(FieldText(*by, "identity_key"), &key)) out.header.identity_key = key;
  }
  out.header.peer = FieldText(root, "peer");
  int64_t n = 0;
  if (absl::SimpleAtoi(FieldText(root, "exported_at_ms"), &n)) out.header.exported_at_ms = n;
  if (absl::SimpleAtoi(FieldText(root, "message_count"), &n)) out.header.message_count = n;
  for (const nlohmann::json& m : *list) {
    if (!m.is_object()) {
      out.messages.push_back(ParsedMessage{"", "", Sha256Hex(m.dump())});
      continue;
    }
    out.messages.push_back(
        ParsedMessage{FieldText(m, "id"), FieldText(m, "server_time"), MessageDigestOf(m)});
  }
  return out;
}

std::string ManifestText(const Manifest& manifest) {
  std::string out = absl::StrCat(kManifestFirstLine, "\n");
  absl::StrAppend(&out, "file record.json ", manifest.json_sha256, "\n");
  absl::StrAppend(&out, "file record.html ", manifest.html_sha256, "\n");
  absl::StrAppend(&out, "header ", manifest.header_digest, "\n");
  for (const ManifestEntry& e : manifest.messages) {
    absl::StrAppend(&out, "message ", e.id, " ", e.server_time_ms, " ", e.digest, "\n");
  }
  return out;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.empty() || lines[0] != kManifestFirstLine) {
    return absl::DataLossError(
        absl::StrCat("the signed manifest does not start with \"", kManifestFirstLine, "\""));
  }
  Manifest out;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(lines[i], ' ');
    const std::string where = absl::StrCat("line ", i + 1, " of the signed manifest");
    if (f.size() == 3 && f[0] == "file" && IsHex64(f[2])) {
      if (f[1] == "record.json") out.json_sha256 = std::string(f[2]);
      if (f[1] == "record.html") out.html_sha256 = std::string(f[2]);
    } else if (f.size() == 2 && f[0] == "header" && IsHex64(f[1])) {
      out.header_digest = std::string(f[1]);
    } else if (f.size() == 4 && f[0] == "message" && IsHex64(f[3])) {
      absl::StatusOr<int64_t> ms = ParseInt(f[2], where);
      if (!ms.ok()) return ms.status();
      out.messages.push_back(ManifestEntry{std::string(f[1]), *ms, std::string(f[3])});
    } else {
      return absl::DataLossError(absl::StrCat(where, " is not in the format"));
    }
  }
  if (out.json_sha256.empty() || out.header_digest.empty()) {
    return absl::DataLossError("the signed manifest has no record.json digest or no header digest");
  }
  return out;
}

std::string SignatureFileText(const SignatureFile& file) {
  Json j = Json::object();
  j["format"] = kSignatureFormatName;
  j["version"] = kFormatVersion;
  j["algorithm"] = kSignatureAlgorithm;
  j["signer"] = file.signer;
  j["identity_key"] = absl::Base64Escape(file.identity_key);
  j["manifest"] = file.manifest;
  j["signature"] = absl::Base64Escape(file.signature);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

absl::StatusOr<SignatureFile> ParseSignatureFile(absl::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || FieldText(j, "format") != kSignatureFormatName) {
    return absl::DataLossError(
        absl::StrCat("record.sig is not a Sotto record signature (a JSON "
                     "object with \"format\": \"",
                     kSignatureFormatName, "\")"));
  }
  if (FieldText(j, "algorithm") != kSignatureAlgorithm) {
    return absl::DataLossError(absl::StrCat("record.sig's algorithm \"", FieldText(j, "algorithm"),
                                            "\" is not ", kSignatureAlgorithm));
  }
  SignatureFile out;
  out.signer = FieldText(j, "signer");
  out.manifest = FieldText(j, "manifest");
  if (!absl::Base64Unescape(FieldText(j, "identity_key"), &out.identity_key)) {
    return absl::DataLossError("record.sig's identity_key is not base64");
  }
  if (!absl::Base64Unescape(FieldText(j, "signature"), &out.signature)) {
    return absl::DataLossError("record.sig's signature is not base64");
  }
  return out;
}

}  // namespace sotto::client::record
