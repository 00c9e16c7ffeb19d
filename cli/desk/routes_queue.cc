// /api/queue and its snooze, close and claim (therapists).

#include <string>

#include "absl/time/time.h"
#include "api.h"
#include "json_output.h"

namespace sotto::desk {
namespace {

absl::Status RequireTherapist(Client& client) {
  if (client.role() == Role::kTherapist) return absl::OkStatus();
  return absl::PermissionDeniedError("the queue is for therapists");
}

absl::StatusOr<std::string> Done(const absl::Status& s) {
  if (!s.ok()) return s;
  return std::string("{}\n");
}

}  // namespace

void AddQueueRoutes(Api& api) {
  api.Route(
      "GET", "/api/queue",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = RequireTherapist(client); !s.ok()) return s;
        const bool all = req.get_param_value("all") == "1";
        auto queue = client.ListQueue(all);
        if (!queue.ok()) return queue.status();
        return cli::QueueJson(*queue, all);
      });
  api.Route("POST", R"(/api/queue/([^/]+)/snooze)",
            [](Client& client, const httplib::Request& req,
               const Json& body) -> absl::StatusOr<std::string> {
              if (absl::Status s = RequireTherapist(client); !s.ok()) return s;
              absl::StatusOr<int64_t> until = IntMember(body, "until_ms", 0, false);
              if (!until.ok()) return until.status();
              if (absl::FromUnixMillis(*until) <= absl::Now()) {
                return absl::InvalidArgumentError("\"until_ms\" must lie in the future");
              }
              return Done(client.Snooze(std::string(req.matches[1]), absl::FromUnixMillis(*until)));
            });
  api.Route(
      "POST", R"(/api/queue/([^/]+)/close)",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = RequireTherapist(client); !s.ok()) return s;
        return Done(client.Close(std::string(req.matches[1])));
      });
  api.Route(
      "POST", R"(/api/queue/([^/]+)/claim)",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (absl::Status s = RequireTherapist(client); !s.ok()) return s;
        return Done(client.Claim(std::string(req.matches[1])));
      });
}

}  // namespace sotto::desk
