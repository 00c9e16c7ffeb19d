#ifndef SOTTO_CLI_DESK_DESK_SERVER_H_
#define SOTTO_CLI_DESK_DESK_SERVER_H_

// The local web server of `sotto desk` (docs/DESK.md): the page embedded in
// the binary, the /api routes over the profile's one sotto::Client, live
// events. Listens on 127.0.0.1 only; every request passes Security first.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "api.h"
#include "events.h"
#include "httplib.h"
#include "receipt_flusher.h"
#include "security.h"
#include "session.h"

namespace sotto::desk {

class DeskServer {
 public:
  // Opens the profile (or not: session.h), binds 127.0.0.1:options.port and
  // serves on threads of its own until Stop. Errors: a wrong start
  // passphrase (PERMISSION_DENIED), the profile taken by another process,
  // the port taken (UNAVAILABLE naming it).
  static absl::StatusOr<std::unique_ptr<DeskServer>> Start(DeskOptions options);
  DeskServer(const DeskServer&) = delete;
  DeskServer& operator=(const DeskServer&) = delete;
  ~DeskServer();  // Stop()

  int port() const { return port_; }
  // What to open: "http://127.0.0.1:PORT/open?t=TOKEN".
  std::string url() const { return security_->OpenUrl(); }
  Session& session() { return session_; }

  // Ends the event streams, the HTTP server and the Listen; idempotent.
  void Stop();

 private:
  explicit DeskServer(DeskOptions options);
  void Configure();
  void ServeAsset(const httplib::Request& req, httplib::Response& res);

  Session session_;
  EventHub hub_;
  Listener listener_;
  ReceiptFlusher receipts_;
  httplib::Server http_;
  Api api_;
  std::unique_ptr<Security> security_;
  int port_ = 0;
  std::thread http_thread_;
};

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_DESK_SERVER_H_
