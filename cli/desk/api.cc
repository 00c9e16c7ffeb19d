#include "api.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sotto::desk {
namespace {

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

// The request's body as a JSON object; {} when there is none.
absl::StatusOr<Json> ParseBody(const httplib::Request& req) {
  if (req.body.empty()) return Json::object();
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON");
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return body;
}

void SendDocument(httplib::Response& res, const std::string& document) {
  res.status = 200;
  res.set_content(document, "application/json");
}

}  // namespace

bool IsBackground(const httplib::Request& req) {
  return req.get_header_value(kBackgroundHeader) == "1";
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Json Embed(const std::string& document) {
  // json_output.h writes valid JSON (invalid UTF-8 already replaced).
  return Json::parse(document, nullptr, /*allow_exceptions=*/false);
}

void SendError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatus(status.code());
  res.set_content(Dump({{"error", std::string(status.message())},
                        {"code", absl::StatusCodeToString(status.code())}}),
                  "application/json");
}

void SendLocked(httplib::Response& res) {
  res.status = 423;
  res.set_content(Dump({{"error", "locked"}, {"code", "LOCKED"}, {"locked", true}}),
                  "application/json");
}

void Api::Route(const char* method, const char* pattern, ClientHandler handler) {
  Add(method, pattern, /*needs_open=*/true,
      [this, handler = std::move(handler)](const httplib::Request& req,
                                           const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<Client*> client = session_.OpenClient();
        if (!client.ok()) return client.status();
        return handler(**client, req, body);
      });
}

void Api::RouteAlways(const char* method, const char* pattern, SessionHandler handler) {
  Add(method, pattern, /*needs_open=*/false, std::move(handler));
}

void Api::Add(const char* method, const char* pattern, bool needs_open, SessionHandler handler) {
  auto serve = [this, needs_open, handler = std::move(handler)](const httplib::Request& req,
                                                                httplib::Response& res) {
    absl::StatusOr<Json> body = ParseBody(req);
    if (!body.ok()) return SendError(res, body.status());
    // The page's own refetches (after a live event, on a timer) are not the
    // person's doing: they must not keep the profile from locking itself.
    std::optional<Client::BackgroundCalls> background;
    if (IsBackground(req)) background.emplace();
    absl::StatusOr<std::string> answer = handler(req, *body);
    if (answer.ok()) return SendDocument(res, *answer);
    // A call refused because the profile is locked (by the user, or by
    // itself while idle, even during the call) is the locked answer,
    // whatever code the library chose.
    if (needs_open && session_.state() == DeskState::kLocked) return SendLocked(res);
    SendError(res, answer.status());
  };
  const std::string m = method;
  if (m == "GET") {
    server_.Get(pattern, serve);
  } else if (m == "POST") {
    server_.Post(pattern, serve);
  } else if (m == "PUT") {
    server_.Put(pattern, serve);
  } else {
    server_.Delete(pattern, serve);
  }
}

absl::StatusOr<std::string> StringMember(const Json& body, const char* name, bool optional) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (optional) return std::string();
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is missing"));
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<int64_t> IntMember(const Json& body, const char* name, int64_t fallback,
                                  bool optional) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (optional) return fallback;
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is missing"));
  }
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be an integer"));
  }
  return it->get<int64_t>();
}

absl::StatusOr<bool> BoolMember(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be true or false"));
  }
  return it->get<bool>();
}

absl::StatusOr<std::string> AbsolutePathMember(const Json& body, const char* name) {
  absl::StatusOr<std::string> path = StringMember(body, name);
  if (!path.ok()) return path.status();
  if (!absl::StartsWith(*path, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" must be an absolute path (starting with /)"));
  }
  return path;
}

}  // namespace sotto::desk
