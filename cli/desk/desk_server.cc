#include "desk_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "assets.h"

namespace sotto::desk {
namespace {

// Each open event stream holds a thread for as long as the page is open; a
// few tabs and the page's own requests must still find one free.
constexpr size_t kHttpThreads = 16;

}  // namespace

const Asset* FindAsset(absl::string_view path) {
  if (path == "/") path = "/index.html";
  for (const Asset* a = kAssets; a->path != nullptr; ++a) {
    if (path == a->path) return a;
  }
  return nullptr;
}

DeskServer::DeskServer(DeskOptions options)
    : session_(std::move(options)),
      listener_(session_, hub_),
      receipts_(session_),
      api_(http_, session_, hub_, receipts_) {}

absl::StatusOr<std::unique_ptr<DeskServer>> DeskServer::Start(DeskOptions options) {
  const int port = options.port;
  std::unique_ptr<DeskServer> desk(new DeskServer(std::move(options)));
  // 127.0.0.1 only: nothing else on the network may reach the page. Bound
  // before the profile is opened: a port in use must fail before the
  // session hands its Client to anyone (the agent socket), not after.
  desk->port_ = port == 0 ? desk->http_.bind_to_any_port("127.0.0.1")
                          : (desk->http_.bind_to_port("127.0.0.1", port) ? port : -1);
  if (desk->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on 127.0.0.1:", port, " (is another program using the port?)"));
  }
  if (absl::Status s = desk->session_.Start(); !s.ok()) return s;
  desk->security_ = std::make_unique<Security>(desk->port_);
  desk->Configure();
  desk->session_.set_on_change(
      [desk = desk.get()](DeskState state) { desk->listener_.StateChanged(state); });
  desk->listener_.Start();
  desk->receipts_.Start();
  desk->http_thread_ = std::thread([desk = desk.get()] { desk->http_.listen_after_bind(); });
  return desk;
}

void DeskServer::Configure() {
  http_.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  http_.set_payload_max_length(kMaxBodyBytes);
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return security_->Check(req, res) == Verdict::kPass
               ? httplib::Server::HandlerResponse::Unhandled
               : httplib::Server::HandlerResponse::Handled;
  });
  http_.set_post_routing_handler(
      [](const httplib::Request& req, httplib::Response& res) { Security::AddHeaders(req, res); });
  // What httplib itself refuses (no route, a body over the limit) gets the
  // API's error shape too.
  http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (!absl::StartsWith(req.path, "/api/")) {
      res.set_content(res.status == 404 ? "Not found.\n" : "Refused.\n",
                      "text/plain; charset=utf-8");
      return;
    }
    const int status = res.status;
    if (status == 404) {
      SendError(res, absl::NotFoundError(absl::StrCat("no API route ", req.method, " ", req.path)));
    } else if (status == 413) {
      SendError(res, absl::InvalidArgumentError("the body is over 1 MiB"));
    } else {
      SendError(res, absl::InvalidArgumentError("the request was refused"));
    }
    res.status = status;
  });
  AddAccountRoutes(api_);
  AddMessageRoutes(api_);
  AddCareRoutes(api_);
  AddQueueRoutes(api_);
  AddDraftRoutes(api_);
  AddDeviceRoutes(api_);
  AddBackupRoutes(api_);
  AddRecordRoutes(api_);
  AddEventRoute(api_);
  http_.Get("/.*",
            [this](const httplib::Request& req, httplib::Response& res) { ServeAsset(req, res); });
}

void DeskServer::ServeAsset(const httplib::Request& req, httplib::Response& res) {
  const Asset* asset = absl::StartsWith(req.path, "/api/") ? nullptr : FindAsset(req.path);
  if (asset == nullptr) {
    res.status = 404;
    return;
  }
  res.set_content(reinterpret_cast<const char*>(asset->data), asset->size, asset->content_type);
}

void DeskServer::Stop() {
  hub_.Close();
  if (http_thread_.joinable()) {
    // stop() before the accept loop began would be lost and join would
    // wait forever.
    for (int i = 0; i < 2000 && !http_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    http_.stop();
    http_thread_.join();
  }
  listener_.Stop();
  receipts_.Stop();
}

DeskServer::~DeskServer() { Stop(); }

}  // namespace sotto::desk
