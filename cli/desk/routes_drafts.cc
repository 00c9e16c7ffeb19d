// /api/drafts: texts and letters being written, kept encrypted in the
// profile (Client::SaveDraft) so nothing written at 2 a.m. is lost.

#include <string>

#include "api.h"

namespace sotto::desk {
namespace {

Json DraftJson(const Draft& d) {
  return {{"id", d.id},
          {"to", d.to},
          {"kind", d.kind == MessageKind::kLetter ? "letter" : "text"},
          {"subject", d.subject},
          {"body", d.body},
          {"in_reply_to", d.in_reply_to},
          {"updated_ms", d.updated_ms}};
}

// The page's draft: every member optional (a draft is unfinished).
absl::StatusOr<Draft> DraftFrom(const std::string& id, const Json& body) {
  Draft d;
  d.id = id;
  for (auto [name, field] : {std::pair{"to", &d.to},
                             {"subject", &d.subject},
                             {"body", &d.body},
                             {"in_reply_to", &d.in_reply_to}}) {
    absl::StatusOr<std::string> value = StringMember(body, name, /*optional=*/true);
    if (!value.ok()) return value.status();
    *field = *std::move(value);
  }
  absl::StatusOr<std::string> kind = StringMember(body, "kind", /*optional=*/true);
  if (!kind.ok()) return kind.status();
  if (*kind != "" && *kind != "text" && *kind != "letter") {
    return absl::InvalidArgumentError("\"kind\" must be \"text\" or \"letter\"");
  }
  d.kind = *kind == "letter" ? MessageKind::kLetter : MessageKind::kText;
  return d;
}

}  // namespace

void AddDraftRoutes(Api& api) {
  api.Route(
      "GET", "/api/drafts",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto drafts = client.ListDrafts();
        if (!drafts.ok()) return drafts.status();
        Json list = Json::array();
        for (const Draft& d : *drafts) list.push_back(DraftJson(d));
        return Dump({{"drafts", list}});
      });
  // Ids as the library takes them: 1..64 of [a-z0-9_-] (the page makes 16
  // hex characters).
  api.Route("PUT", R"(/api/drafts/([a-z0-9_-]{1,64}))",
            [](Client& client, const httplib::Request& req,
               const Json& body) -> absl::StatusOr<std::string> {
              absl::StatusOr<Draft> draft = DraftFrom(req.matches[1], body);
              if (!draft.ok()) return draft.status();
              absl::StatusOr<Draft> saved = client.SaveDraft(*draft);
              if (!saved.ok()) return saved.status();
              return Dump(DraftJson(*saved));
            });
  api.Route(
      "DELETE", R"(/api/drafts/([a-z0-9_-]{1,64}))",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = client.DeleteDraft(std::string(req.matches[1])); !s.ok()) {
          return s;
        }
        return std::string("{}\n");
      });
}

}  // namespace sotto::desk
