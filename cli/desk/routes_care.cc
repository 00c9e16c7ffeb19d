// /api/policy, invites, accept-invite, links, unlink, safety-number.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api.h"
#include "json_output.h"
#include "qr.h"
#include "time_parse.h"

namespace sotto::desk {
namespace {

// Whose policy GET /api/policy shows without ?therapist: as `sotto policy`,
// the therapist's own, or a client's care team's.
absl::StatusOr<std::vector<std::string>> PolicyOwners(Client& client, const std::string& named) {
  if (!named.empty()) return std::vector<std::string>{named};
  if (client.role() == Role::kTherapist) return std::vector<std::string>{client.handle()};
  auto links = client.ListLinks();
  if (!links.ok()) return links.status();
  std::vector<std::string> therapists;
  for (const CareLink& link : *links) {
    if (link.active) therapists.push_back(link.peer);
  }
  return therapists;
}

absl::Status ApplyWorkingTime(const Json& body, ResponsePolicy& p) {
  if (body.contains("time_zone")) {
    absl::StatusOr<std::string> zone = StringMember(body, "time_zone");
    if (!zone.ok()) return zone.status();
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(*zone, &tz)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"time_zone\" \"", *zone,
                       "\" is not a time zone; use an IANA name such as Europe/Paris"));
    }
    p.time_zone = *zone;
  }
  if (body.contains("working_days")) {
    const Json& days = body["working_days"];
    std::vector<int> parsed;
    for (const Json& d : days.is_array() ? days : Json::array({Json()})) {
      if (!d.is_number_integer() || d.get<int>() < 1 || d.get<int>() > 7) {
        return absl::InvalidArgumentError(
            "\"working_days\" must be a list of ISO weekdays, 1 (Monday) to 7 (Sunday)");
      }
      parsed.push_back(d.get<int>());
    }
    p.working_days = std::move(parsed);
  }
  if (body.contains("day_start") || body.contains("day_end")) {
    auto start = StringMember(body, "day_start", true);
    auto end = StringMember(body, "day_end", true);
    if (!start.ok()) return start.status();
    if (!end.ok()) return end.status();
    auto hours = cli::ParseDayHours(
        absl::StrCat(start->empty() ? cli::FormatMinuteOfDay(p.day_start_minute) : *start, "-",
                     end->empty() ? cli::FormatMinuteOfDay(p.day_end_minute) : *end));
    if (!hours.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"day_start\"/\"day_end\": ", hours.status().message()));
    }
    p.day_start_minute = hours->start_minute;
    p.day_end_minute = hours->end_minute;
  }
  return absl::OkStatus();
}

// The members of the policy JSON (`sotto policy --json`) present in `body`,
// applied to `p`; the others keep their value.
absl::Status ApplyPolicy(const Json& body, ResponsePolicy& p) {
  if (absl::Status s = ApplyWorkingTime(body, p); !s.ok()) return s;
  absl::StatusOr<int64_t> window =
      IntMember(body, "reply_window_minutes", p.reply_window_minutes, true);
  absl::StatusOr<int64_t> from = IntMember(body, "away_from_ms", p.away_from_ms, true);
  absl::StatusOr<int64_t> until = IntMember(body, "away_until_ms", p.away_until_ms, true);
  for (const auto* s : {&window, &from, &until}) {
    if (!s->ok()) return s->status();
  }
  if (*window <= 0 || *window > 60 * 24 * 31) {
    return absl::InvalidArgumentError("\"reply_window_minutes\" must be 1 to 44640");
  }
  p.reply_window_minutes = static_cast<int>(*window);
  p.away_from_ms = *from;
  p.away_until_ms = *until;
  if (body.contains("away_note")) {
    absl::StatusOr<std::string> note = StringMember(body, "away_note", true);
    if (!note.ok()) return note.status();
    p.away_note = *note;
  }
  return absl::OkStatus();
}

// The therapist's own policy with `body` applied (defaults if none yet).
absl::StatusOr<ResponsePolicy> EditedPolicy(Client& client, const Json& body) {
  if (client.role() != Role::kTherapist) {
    return absl::PermissionDeniedError("only a therapist has a response policy");
  }
  ResponsePolicy policy;
  absl::StatusOr<PolicyView> current = client.GetPolicy(client.handle());
  if (current.ok()) {
    policy = current->policy;
  } else if (!absl::IsNotFound(current.status())) {
    return current.status();
  }
  if (absl::Status s = ApplyPolicy(body, policy); !s.ok()) return s;
  return policy;
}

// The policy to preview: a therapist's own, edited by `body`; for a client,
// the therapist's published policy the page sends in full (the due time a
// client sees before sending is computed from it, as the server will).
absl::StatusOr<ResponsePolicy> PreviewedPolicy(Client& client, const Json& body) {
  if (client.role() == Role::kTherapist) return EditedPolicy(client, body);
  ResponsePolicy policy;
  if (absl::Status s = ApplyPolicy(body, policy); !s.ok()) return s;
  return policy;
}

void AddPolicyRoutes(Api& api) {
  api.Route(
      "GET", "/api/policy",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        auto owners = PolicyOwners(client, req.get_param_value("therapist"));
        if (!owners.ok()) return owners.status();
        std::vector<std::pair<std::string, PolicyView>> views;
        for (const std::string& therapist : *owners) {
          auto view = client.GetPolicy(therapist);
          if (!view.ok()) return view.status();
          views.emplace_back(therapist, *std::move(view));
        }
        return cli::PoliciesJson(views);
      });
  api.Route(
      "PUT", "/api/policy",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<ResponsePolicy> policy = EditedPolicy(client, body);
        if (!policy.ok()) return policy.status();
        if (absl::Status s = client.SetPolicy(*policy); !s.ok()) return s;
        return std::string("{}\n");
      });
  api.Route(
      "POST", "/api/policy/preview",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<ResponsePolicy> policy = PreviewedPolicy(client, body);
        if (!policy.ok()) return policy.status();
        absl::StatusOr<absl::Time> due = PreviewDue(*policy, absl::Now());
        if (!due.ok()) return due.status();
        return Dump({{"due_ms", absl::ToUnixMillis(*due)}});
      });
}

void AddInviteRoutes(Api& api) {
  api.Route(
      "GET", "/api/invites",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto invites = client.ListInvites();
        if (!invites.ok()) return invites.status();
        Json list = Json::array();
        for (const InviteInfo& i : *invites) {
          list.push_back({{"id", i.id},
                          {"code", i.code.empty() ? Json() : Json(i.code)},
                          {"created_ms", i.created_ms},
                          {"expires_at_ms", i.expires_at_ms},
                          {"used", i.used},
                          {"used_by", i.used_by.empty() ? Json() : Json(i.used_by)},
                          {"used_ms", i.used_ms}});
        }
        return Dump({{"invites", list}});
      });
  api.Route(
      "POST", "/api/invites",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<int64_t> hours = IntMember(body, "valid_for_hours", 24 * 7, true);
        if (!hours.ok()) return hours.status();
        if (*hours < 1 || *hours > 24 * 90) {
          return absl::InvalidArgumentError("\"valid_for_hours\" must be 1 to 2160");
        }
        auto invite = client.CreateInvite(absl::Hours(*hours));
        if (!invite.ok()) return invite.status();
        absl::StatusOr<std::string> qr = cli::QrSvg(invite->code);
        if (!qr.ok()) return qr.status();
        return Dump(
            {{"code", invite->code}, {"expires_at_ms", invite->expires_at_ms}, {"qr_svg", *qr}});
      });
  api.Route(
      "POST", "/api/accept-invite",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> code = StringMember(body, "code");
        if (!code.ok()) return code.status();
        auto therapist = client.AcceptInvite(*code);
        if (!therapist.ok()) return therapist.status();
        return Dump({{"therapist", *therapist}});
      });
}

void AddIdentityRoutes(Api& api) {
  api.Route(
      "GET", "/api/links",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto links = client.ListLinks();
        if (!links.ok()) return links.status();
        return cli::LinksJson(*links);
      });
  // Ends the care link with "peer" (`sotto unlink`); the page asks first.
  api.Route(
      "POST", "/api/unlink",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> peer = StringMember(body, "peer");
        if (!peer.ok()) return peer.status();
        if (peer->empty()) return absl::InvalidArgumentError("\"peer\" is empty");
        if (absl::Status s = client.EndLink(*peer); !s.ok()) return s;
        return std::string("{}\n");
      });
  api.Route(
      "GET", R"(/api/safety-number/([^/]+))",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        const std::string peer = req.matches[1];
        auto number = client.SafetyNumber(peer);
        if (!number.ok()) return number.status();
        // The 60 digits, which any QR reader shows as they are: the two
        // people compare them in person.
        absl::StatusOr<std::string> qr = cli::QrSvg(number->digits);
        if (!qr.ok()) return qr.status();
        Json j = Embed(cli::SafetyNumberJson(peer, *number));
        j["qr_svg"] = *qr;
        return Dump(j);
      });
  api.Route(
      "POST", R"(/api/safety-number/([^/]+)/verify)",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = client.MarkVerified(std::string(req.matches[1])); !s.ok()) {
          return s;
        }
        return std::string("{}\n");
      });
  // `sotto trust PEER --safety-number DIGITS`: the page sends back the digits
  // it showed, so a key swapped in after the person compared them is not
  // accepted (409, nothing changes).
  api.Route("POST", R"(/api/safety-number/([^/]+)/trust)",
            [](Client& client, const httplib::Request& req,
               const Json& body) -> absl::StatusOr<std::string> {
              absl::StatusOr<std::string> digits = StringMember(body, "digits");
              if (!digits.ok()) return digits.status();
              const std::string peer = req.matches[1];
              if (absl::Status s = client.AcceptIdentityChange(peer, *digits); !s.ok()) return s;
              // The desk's running Listen held their messages and left them queued
              // on the server; the one the desk starts after this fetches them
              // again and can now decrypt them (the page hears `message`).
              client.StopListening();
              return std::string("{}\n");
            });
}

}  // namespace

void AddCareRoutes(Api& api) {
  AddPolicyRoutes(api);
  AddInviteRoutes(api);
  AddIdentityRoutes(api);
}

}  // namespace sotto::desk
