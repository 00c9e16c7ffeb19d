#ifndef SOTTO_CLI_DESK_SECURITY_H_
#define SOTTO_CLI_DESK_SECURITY_H_

// The checks every request to `sotto desk` passes before any route sees it
// (docs/DESK.md, "Security of the local server"). Any web page the person
// visits can make their browser send requests to 127.0.0.1, so:
//   - a capability token, random per launch, printed in the URL, is traded
//     at /open for a session cookie (HttpOnly, SameSite=Strict): a page
//     elsewhere can neither read the cookie nor make the browser send it;
//   - Host must name the loopback address and our port, or another site's
//     name rebound to 127.0.0.1 (DNS rebinding) would make its pages
//     same-origin with ours (421);
//   - a state-changing request must come with our own Origin (403);
//   - bodies are JSON only (415) and at most 1 MiB (413), so a cross-site
//     "simple" form post cannot be one of our requests;
//   - every response carries a strict CSP and the other headers below.
// The checks run in httplib's pre-routing handler (DeskServer) so that no
// route can forget them. Thread-safe.

#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"

namespace sotto::desk {

inline constexpr size_t kMaxBodyBytes = 1 << 20;

// What the pre-routing handler decided.
enum class Verdict { kPass, kRefused };

class Security {
 public:
  // `port` is the one the server listens on (for Host and Origin).
  explicit Security(int port);
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  // The launch's capability token (32 random bytes, base64url).
  const std::string& token() const { return token_; }
  // "http://127.0.0.1:PORT/open?t=TOKEN".
  std::string OpenUrl() const;
  // "sotto_desk_PORT": cookies ignore ports, so two desks of one person
  // (a therapist's practice and private profiles) opened in one browser
  // would otherwise overwrite each other's session.
  const std::string& cookie_name() const { return cookie_name_; }

  // Checks `req`; on refusal fills `res` (status, body) and returns
  // kRefused. GET /open with the right token is answered here too (303 with
  // the session cookie), as kRefused: no route runs for it.
  Verdict Check(const httplib::Request& req, httplib::Response& res);

  // The headers every response carries (CSP and friends; no-store for
  // /api/*). For the post-routing handler.
  static void AddHeaders(const httplib::Request& req, httplib::Response& res);

 private:
  Verdict Open(const httplib::Request& req, httplib::Response& res);
  bool HasSession(const httplib::Request& req) const;

  const int port_;
  const std::string cookie_name_;
  const std::string token_;
  mutable absl::Mutex mu_;
  // Every browser that opened the URL this launch has one.
  std::set<std::string> sessions_ ABSL_GUARDED_BY(mu_);
};

// 32 random bytes as unpadded base64url.
std::string RandomToken();

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_SECURITY_H_
