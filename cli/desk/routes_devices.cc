// /api/devices: this account's linked devices (Settings → Devices), linking
// a new one while the page waits, and, in setup, joining an existing account
// as a new device (docs/DESK.md).

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api.h"
#include "secret.h"
#include "sotto/devices.h"

namespace sotto::desk {
namespace {

Json DeviceJson(const DeviceEntry& d) {
  return {{"device_id", d.device_id},
          {"name", d.name},
          {"linked_at_ms", d.linked_at ? Json(absl::ToUnixMillis(*d.linked_at)) : Json()},
          {"last_seen_ms", d.last_seen_hour ? Json(absl::ToUnixMillis(*d.last_seen_hour)) : Json()},
          {"this_device", d.this_device}};
}

void AddListRoutes(Api& api) {
  api.Route(
      "GET", "/api/devices",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto devices = client.ListDevices();
        if (!devices.ok()) return devices.status();
        Json list = Json::array();
        for (const DeviceEntry& d : *devices) list.push_back(DeviceJson(d));
        return Dump({{"devices", list}});
      });
  // Removes another device of the account. Not this one: the page would cut
  // off the desk the person is using (`sotto remove-device` still can).
  api.Route(
      "DELETE", R"(/api/devices/([^/]+))",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        const std::string which = req.matches[1];
        uint32_t id = 0;
        if (!absl::SimpleAtoi(which, &id) || id == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("the device id must be a positive number, not \"", which, "\""));
        }
        if (id == client.device_id()) {
          return absl::FailedPreconditionError(
              "that is this desk's own device: remove it from another device of the account");
        }
        if (absl::Status s = client.RemoveDevice(id); !s.ok()) return s;
        return std::string("{}\n");
      });
}

void AddLinkRoutes(Api& api) {
  LinkJob& job = api.link_job();
  api.Route("POST", "/api/devices/link",
            [&job](Client&, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
              if (absl::Status s = job.Start(); !s.ok()) return s;
              return job.StatusJson() + "\n";
            });
  api.Route("GET", "/api/devices/link",
            [&job](Client&, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
              return job.StatusJson() + "\n";
            });
  api.Route("POST", "/api/devices/link/cancel",
            [&job](Client&, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
              job.Cancel();
              return std::string("{}\n");
            });
}

// In setup: join an existing account with the code its device shows.
void AddJoinRoute(Api& api) {
  Session& session = api.session();
  api.RouteAlways(
      "POST", "/api/setup/join",
      [&session](const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        JoinRequest join;
        cli::WipeOnExit wipe(join.passphrase);
        cli::WipeOnExit wipe_code(join.code);
        for (auto [name, field] : {std::pair{"server", &join.server},
                                   {"code", &join.code},
                                   {"passphrase", &join.passphrase}}) {
          absl::StatusOr<std::string> value = StringMember(body, name);
          if (!value.ok()) return value.status();
          *field = *std::move(value);
        }
        absl::StatusOr<std::string> name = StringMember(body, "device_name", /*optional=*/true);
        if (!name.ok()) return name.status();
        join.device_name = *std::move(name);
        if (absl::Status s = session.Join(join); !s.ok()) return s;
        return std::string("{}\n");
      });
}

}  // namespace

void AddDeviceRoutes(Api& api) {
  AddListRoutes(api);
  AddLinkRoutes(api);
  AddJoinRoute(api);
}

}  // namespace sotto::desk
