#include "security.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sotto::desk {
namespace {

constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

bool SameSecret(absl::string_view a, absl::string_view b) {
  // Constant time: how much of a guess matched must not show in the timing.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool IsApi(const httplib::Request& req) { return absl::StartsWith(req.path, "/api/"); }

bool ChangesState(const httplib::Request& req) {
  return req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS";
}

// A refusal: JSON for the API, a short page otherwise (what a person who
// followed an old link sees).
Verdict Refuse(const httplib::Request& req, httplib::Response& res, int status,
               absl::string_view code, absl::string_view sentence) {
  res.status = status;
  if (IsApi(req)) {
    res.set_content(absl::StrCat("{\"error\": \"", sentence, "\", \"code\": \"", code, "\"}\n"),
                    "application/json");
  } else {
    res.set_content(absl::StrCat("<!doctype html><meta charset=\"utf-8\"><title>Sotto Desk</title>"
                                 "<p>",
                                 sentence, "</p>\n"),
                    "text/html; charset=utf-8");
  }
  return Verdict::kRefused;
}

// The value of cookie `name` in the request's Cookie headers; empty if none.
std::string CookieValue(const httplib::Request& req, absl::string_view name) {
  const size_t count = req.get_header_value_count("Cookie");
  for (size_t i = 0; i < count; ++i) {
    for (absl::string_view pair : absl::StrSplit(req.get_header_value("Cookie", i), ';')) {
      pair = absl::StripAsciiWhitespace(pair);
      if (absl::ConsumePrefix(&pair, name) && absl::ConsumePrefix(&pair, "=")) {
        return std::string(pair);
      }
    }
  }
  return "";
}

// Whether the declared body is JSON ("application/json", parameters allowed).
bool IsJson(const httplib::Request& req) {
  const std::string header = req.get_header_value("Content-Type");
  absl::string_view type = header;
  type = absl::StripAsciiWhitespace(type.substr(0, type.find(';')));
  return absl::EqualsIgnoreCase(type, "application/json");
}

bool HasBody(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  return std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > 0;
}

}  // namespace

std::string RandomToken() {
  unsigned char bytes[32];
  // RAND_bytes only fails when the OS has no entropy source at all; a
  // guessable token would let any web page in, so give up rather than go on.
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  std::string token;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes),
                            &token);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

Security::Security(int port)
    : port_(port), cookie_name_(absl::StrCat("sotto_desk_", port)), token_(RandomToken()) {}

std::string Security::OpenUrl() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/open?t=", token_);
}

bool Security::HasSession(const httplib::Request& req) const {
  const std::string cookie = CookieValue(req, cookie_name_);
  if (cookie.empty()) return false;
  absl::MutexLock lock(&mu_);
  bool found = false;
  for (const std::string& session : sessions_) found |= SameSecret(cookie, session);
  return found;
}

Verdict Security::Open(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "GET" || !SameSecret(req.get_param_value("t"), token_)) {
    return Refuse(req, res, 403, "PERMISSION_DENIED",
                  "This link is not valid; run `sotto desk` again.");
  }
  const std::string session = RandomToken();
  {
    absl::MutexLock lock(&mu_);
    sessions_.insert(session);
  }
  // A page that moves on to "/" itself rather than a 303: a browser opened
  // from elsewhere (xdg-open's forwarding file, a link in a mail client)
  // starts a cross-site navigation, and a redirect would stay cross-site, so
  // the SameSite=Strict cookie would not come with "/". The page's own
  // refresh is a same-origin navigation.
  res.status = 200;
  res.set_content(
      "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=/\">"
      "<title>Sotto Desk</title><p><a href=\"/\">Open Sotto Desk</a></p>\n",
      "text/html; charset=utf-8");
  res.set_header("Set-Cookie",
                 absl::StrCat(cookie_name_, "=", session, "; HttpOnly; SameSite=Strict; Path=/"));
  return Verdict::kRefused;
}

Verdict Security::Check(const httplib::Request& req, httplib::Response& res) {
  const std::string host = req.get_header_value("Host");
  if (host != absl::StrCat("127.0.0.1:", port_) && host != absl::StrCat("localhost:", port_)) {
    return Refuse(req, res, 421, "MISDIRECTED",
                  "This server answers only to 127.0.0.1 and localhost with its own port.");
  }
  // SameSite ignores ports: a page served on another port of 127.0.0.1 is
  // "same-site", so its GETs (an <img>, an EventSource) would carry our
  // cookie. Browsers say where a request comes from in Sec-Fetch-Site; only
  // our own page ("same-origin") and the person ("none": typed, bookmark)
  // get in, and anyone to /open, which needs the token.
  const std::string site = req.get_header_value("Sec-Fetch-Site");
  if (!site.empty() && site != "same-origin" && site != "none" && req.path != "/open") {
    return Refuse(req, res, 403, "PERMISSION_DENIED",
                  "The desk answers only its own page; open the link `sotto desk` printed.");
  }
  if (ChangesState(req) && req.get_header_value("Origin") != absl::StrCat("http://", host)) {
    return Refuse(req, res, 403, "PERMISSION_DENIED",
                  "A request that changes something must come from the desk's own page.");
  }
  if (req.path == "/open") return Open(req, res);
  if (req.path != "/favicon.ico" && !HasSession(req)) {
    return Refuse(req, res, 401, "UNAUTHENTICATED",
                  "Open the link that `sotto desk` printed to use the desk.");
  }
  if (HasBody(req)) {
    // httplib 0.11 does not hold a chunked body to the payload limit: only
    // a body whose length is declared (as fetch() declares it) is read.
    if (req.has_header("Transfer-Encoding")) {
      return Refuse(req, res, 411, "LENGTH_REQUIRED",
                    "The body must come with a Content-Length (no chunked encoding).");
    }
    if (!IsJson(req)) {
      return Refuse(req, res, 415, "UNSUPPORTED_MEDIA_TYPE",
                    "The body must be JSON (Content-Type: application/json).");
    }
    if (std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
        kMaxBodyBytes) {
      return Refuse(req, res, 413, "PAYLOAD_TOO_LARGE", "The body is over 1 MiB.");
    }
  }
  return Verdict::kPass;
}

void Security::AddHeaders(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  if (IsApi(req)) res.set_header("Cache-Control", "no-store");
}

}  // namespace sotto::desk
