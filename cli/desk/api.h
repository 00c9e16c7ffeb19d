#ifndef SOTTO_CLI_DESK_API_H_
#define SOTTO_CLI_DESK_API_H_

// What every /api route shares (docs/DESK.md, "API"): reading the JSON
// body, answering JSON, and turning an absl::Status into the HTTP status and
// `{"error", "code"}` body. Routes are added by group (routes_*.cc), each
// through Api::Route, so none forgets the locked check or the error shape.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "events.h"
#include "httplib.h"
#include "link_job.h"
#include "nlohmann/json.hpp"
#include "receipt_flusher.h"
#include "session.h"

namespace sotto::desk {

using Json = nlohmann::json;

// A route's work: the open Client, the request and its parsed body (an
// object; {} when the request had none) → the answer, a JSON document.
using ClientHandler =
    std::function<absl::StatusOr<std::string>(Client&, const httplib::Request&, const Json&)>;
// The same for the routes that work without an open Client (state, unlock).
using SessionHandler =
    std::function<absl::StatusOr<std::string>(const httplib::Request&, const Json&)>;

class Api {
 public:
  Api(httplib::Server& server, Session& session, EventHub& hub, ReceiptFlusher& receipts)
      : server_(server),
        session_(session),
        hub_(hub),
        receipts_(receipts),
        link_job_(std::make_unique<LinkJob>(session, hub)) {}
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Adds `method` `pattern` (httplib's regex) answering 423 while locked.
  void Route(const char* method, const char* pattern, ClientHandler handler);
  // Adds a route that answers in any state.
  void RouteAlways(const char* method, const char* pattern, SessionHandler handler);

  Session& session() { return session_; }
  EventHub& hub() { return hub_; }
  ReceiptFlusher& receipts() { return receipts_; }
  // Linking a new device from the page (routes_devices.cc).
  LinkJob& link_job() { return *link_job_; }
  httplib::Server& server() { return server_; }

 private:
  void Add(const char* method, const char* pattern, bool needs_open, SessionHandler handler);

  httplib::Server& server_;
  Session& session_;
  EventHub& hub_;
  ReceiptFlusher& receipts_;
  std::unique_ptr<LinkJob> link_job_;
};

// The header the page sets on requests it makes by itself (refetches after a
// live event, timers), "1": their Client calls run as
// Client::BackgroundCalls and do not count as the person's activity for the
// idle auto-lock (docs/DESK.md, "Idle auto-lock").
inline constexpr char kBackgroundHeader[] = "X-Sotto-Background";
bool IsBackground(const httplib::Request& req);

// The document, UTF-8 (invalid sequences replaced: text from others).
std::string Dump(const Json& json);
// A document of json_output.h (cli) as a value to embed in another.
Json Embed(const std::string& document);

// HTTP status and "code" for `status` (docs/DESK.md); `locked` gives 423.
void SendError(httplib::Response& res, const absl::Status& status);
void SendLocked(httplib::Response& res);

// Members of a request body. INVALID_ARGUMENT naming the member when it is
// missing (unless optional) or of the wrong type.
absl::StatusOr<std::string> StringMember(const Json& body, const char* name, bool optional = false);
absl::StatusOr<int64_t> IntMember(const Json& body, const char* name, int64_t fallback,
                                  bool optional);
absl::StatusOr<bool> BoolMember(const Json& body, const char* name);
// A path the person typed (string member `name`): it must be absolute, the
// desk having no working directory of theirs.
absl::StatusOr<std::string> AbsolutePathMember(const Json& body, const char* name);

// The route groups (routes_*.cc).
void AddAccountRoutes(Api& api);
void AddMessageRoutes(Api& api);
void AddCareRoutes(Api& api);
void AddQueueRoutes(Api& api);
void AddDraftRoutes(Api& api);
void AddEventRoute(Api& api);
void AddDeviceRoutes(Api& api);
void AddBackupRoutes(Api& api);
void AddRecordRoutes(Api& api);

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_API_H_
