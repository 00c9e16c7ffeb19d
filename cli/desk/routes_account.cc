// /api/state, unlock, lock, setup, settings, passphrase, and the event
// stream: the routes that answer whatever the state.

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "api.h"
#include "secret.h"

namespace sotto::desk {
namespace {

absl::StatusOr<std::string> StateJson(Session& session) {
  const DeskState state = session.state();
  Json j = {{"state", DeskStateName(state)},
            {"handle", nullptr},
            {"role", nullptr},
            {"server", nullptr},
            {"read_receipts", nullptr},
            {"auto_lock_minutes", nullptr},
            {"auto_lock_ms", nullptr}};
  const absl::Duration auto_lock = session.options().auto_lock_after;
  if (auto_lock != absl::InfiniteDuration()) {
    j["auto_lock_minutes"] = absl::ToInt64Minutes(auto_lock);
    // Exact, for the page's pacing of POST /api/activity.
    j["auto_lock_ms"] = absl::ToInt64Milliseconds(auto_lock);
  }
  // Accessors that answer while locked and do not count as activity: a page
  // left open must not keep the profile from locking itself.
  if (Client* client = session.client(); client != nullptr) {
    j["handle"] = client->handle();
    j["role"] = client->role() == Role::kTherapist ? "therapist" : "client";
    j["server"] = client->server_address();
    if (state == DeskState::kOpen) j["read_receipts"] = session.read_receipts();
  }
  return Dump(j);
}

void AddStateRoutes(Api& api) {
  Session& session = api.session();
  api.RouteAlways("GET", "/api/state",
                  [&](const httplib::Request&, const Json&) { return StateJson(session); });
  api.RouteAlways("POST", "/api/unlock",
                  [&](const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
                    absl::StatusOr<std::string> passphrase = StringMember(body, "passphrase");
                    if (!passphrase.ok()) return passphrase.status();
                    cli::WipeOnExit wipe(*passphrase);
                    if (absl::Status s = session.Unlock(*passphrase); !s.ok()) return s;
                    return StateJson(session);
                  });
  api.RouteAlways("POST", "/api/lock",
                  [&](const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
                    if (absl::Status s = session.Lock(); !s.ok()) return s;
                    return StateJson(session);
                  });
  api.RouteAlways("POST", "/api/setup",
                  [&](const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
                    SetupRequest setup;
                    cli::WipeOnExit wipe(setup.passphrase);
                    for (auto [name, field] : {std::pair{"server", &setup.server},
                                               {"handle", &setup.handle},
                                               {"passphrase", &setup.passphrase},
                                               {"invite_code", &setup.invite_code}}) {
                      absl::StatusOr<std::string> value = StringMember(body, name);
                      if (!value.ok()) return value.status();
                      *field = *std::move(value);
                    }
                    if (absl::Status s = session.Setup(setup); !s.ok()) return s;
                    return StateJson(session);
                  });
}

void AddSettingRoutes(Api& api) {
  Session& session = api.session();
  api.Route("PUT", "/api/settings/read-receipts",
            [&](Client&, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
              absl::StatusOr<bool> enabled = BoolMember(body, "enabled");
              if (!enabled.ok()) return enabled.status();
              if (absl::Status s = session.SetReadReceipts(*enabled); !s.ok()) return s;
              return std::string("{}\n");
            });
  // The page says the person did something (a click, a key, scrolling)
  // that needed no other call: it counts for the idle auto-lock. The page
  // sends it at most every few seconds.
  api.Route(
      "POST", "/api/activity",
      [](Client& client, const httplib::Request& req, const Json&) -> absl::StatusOr<std::string> {
        if (IsBackground(req)) {
          return absl::InvalidArgumentError(
              "activity cannot be marked as background: it is the person's own");
        }
        if (absl::Status s = client.NoteActivity(); !s.ok()) return s;
        return std::string("{}\n");
      });
  api.Route("POST", "/api/passphrase",
            [&](Client&, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
              absl::StatusOr<std::string> old_passphrase = StringMember(body, "old");
              if (!old_passphrase.ok()) return old_passphrase.status();
              cli::WipeOnExit wipe_old(*old_passphrase);
              absl::StatusOr<std::string> new_passphrase = StringMember(body, "new");
              if (!new_passphrase.ok()) return new_passphrase.status();
              cli::WipeOnExit wipe_new(*new_passphrase);
              absl::Status s = session.ChangePassphrase(*old_passphrase, *new_passphrase);
              // A wrong old passphrase is not "locked": say which was wrong.
              if (absl::IsPermissionDenied(s)) {
                return absl::UnauthenticatedError("the current passphrase is wrong");
              }
              if (!s.ok()) return s;
              return std::string("{}\n");
            });
}

}  // namespace

void AddAccountRoutes(Api& api) {
  AddStateRoutes(api);
  AddSettingRoutes(api);
}

void AddEventRoute(Api& api) {
  EventHub& hub = api.hub();
  api.server().Get("/api/events", [&hub](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<EventHub::Subscriber> subscriber = hub.Subscribe();
    res.set_chunked_content_provider(
        "text/event-stream",
        [&hub, subscriber, first = true](size_t, httplib::DataSink& sink) mutable {
          // The first frame at once: EventSource (and a test) knows the
          // stream is open, and how soon to retry if it drops.
          std::optional<std::string> frames =
              first ? std::optional<std::string>("retry: 2000\n: open\n\n")
                    : hub.Next(*subscriber, absl::Seconds(15));
          first = false;
          if (!frames.has_value()) {
            sink.done();
            return true;
          }
          if (frames->empty()) *frames = ": ping\n\n";
          return sink.write(frames->data(), frames->size());
        },
        [&hub, subscriber](bool) { hub.Unsubscribe(subscriber); });
  });
}

}  // namespace sotto::desk
