// /api/conversations, send, letter, reply, cancel, scheduled.

#include <string>

#include "absl/time/time.h"
#include "api.h"
#include "json_output.h"

namespace sotto::desk {
namespace {

// SendResult as docs/DESK.md: the stored message (read --json's element),
// the reply expectation (a client's message to a therapist) and notices.
std::string SendResultJson(const SendResult& result) {
  Json j = {{"message", Embed(cli::MessageJson(result.message))},
            {"expectation", nullptr},
            {"notices", Json::array()}};
  if (result.expectation.has_value()) {
    const ReplyExpectation& e = *result.expectation;
    j["expectation"] = {{"due_ms", e.due_ms},
                        {"reply_window_minutes", e.reply_window_minutes},
                        {"away_note", e.away_note},
                        {"away_until_ms", e.away_until_ms},
                        {"emergency_note", e.emergency_note}};
  }
  for (const IdentityNotice& n : result.notices) {
    j["notices"].push_back(
        {{"peer", n.peer},
         {"kind", n.kind == IdentityNotice::Kind::kAccepted ? "accepted" : "held"},
         {"text", n.text}});
  }
  return Dump(j);
}

// "at_ms" (send later), absent or 0 for now; "draft_id", the draft the
// message was written in (deleted with the send, as SendOptions::draft_id).
absl::StatusOr<SendOptions> SendOptionsFrom(const Json& body) {
  absl::StatusOr<int64_t> at_ms = IntMember(body, "at_ms", 0, /*optional=*/true);
  if (!at_ms.ok()) return at_ms.status();
  absl::StatusOr<std::string> draft_id = StringMember(body, "draft_id", /*optional=*/true);
  if (!draft_id.ok()) return draft_id.status();
  SendOptions options;
  if (*at_ms != 0) options.deliver_at = absl::FromUnixMillis(*at_ms);
  options.draft_id = *std::move(draft_id);
  return options;
}

// The strings `names` of `body`, all required, in order.
template <size_t N>
absl::Status Strings(const Json& body, const char* const (&names)[N], std::string (&out)[N]) {
  for (size_t i = 0; i < N; ++i) {
    absl::StatusOr<std::string> value = StringMember(body, names[i]);
    if (!value.ok()) return value.status();
    out[i] = *std::move(value);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Answer(absl::StatusOr<SendResult> sent) {
  if (!sent.ok()) return sent.status();
  return SendResultJson(*sent);
}

void AddReadRoutes(Api& api) {
  api.Route(
      "GET", "/api/conversations",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto conversations = client.ListConversations();
        if (!conversations.ok()) return conversations.status();
        return cli::InboxJson(*conversations);
      });
  api.Route("GET", R"(/api/conversations/([^/]+))",
            [&api](Client& client, const httplib::Request& req,
                   const Json&) -> absl::StatusOr<std::string> {
              const std::string peer = req.matches[1];
              auto messages = client.ReadConversation(peer);
              if (!messages.ok()) return messages.status();
              // The sender sees "read" now, not at this desk's next Listen batch.
              api.receipts().Kick();
              return cli::ConversationJson(peer, *messages);
            });
}

void AddSendRoutes(Api& api) {
  api.Route(
      "POST", "/api/send",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        std::string v[2];
        if (absl::Status s = Strings(body, {"to", "text"}, v); !s.ok()) return s;
        absl::StatusOr<SendOptions> options = SendOptionsFrom(body);
        if (!options.ok()) return options.status();
        return Answer(client.SendText(v[0], v[1], *options));
      });
  api.Route(
      "POST", "/api/letter",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        std::string v[3];
        if (absl::Status s = Strings(body, {"to", "subject", "body"}, v); !s.ok()) return s;
        absl::StatusOr<SendOptions> options = SendOptionsFrom(body);
        if (!options.ok()) return options.status();
        return Answer(client.SendLetter(v[0], v[1], v[2], *options));
      });
  api.Route(
      "POST", "/api/reply",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        std::string v[2];
        if (absl::Status s = Strings(body, {"id", "body"}, v); !s.ok()) return s;
        absl::StatusOr<SendOptions> options = SendOptionsFrom(body);
        if (!options.ok()) return options.status();
        return Answer(client.Reply(v[0], v[1], *options));
      });
  // A client's message to every therapist of the care team (`sotto send
  // --team`): one SendResult per therapist.
  api.Route(
      "POST", "/api/send-team",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> text = StringMember(body, "text");
        if (!text.ok()) return text.status();
        absl::StatusOr<SendOptions> options = SendOptionsFrom(body);
        if (!options.ok()) return options.status();
        auto sent = client.SendToCareTeam(*text, *options);
        if (!sent.ok()) return sent.status();
        Json results = Json::array();
        for (const SendResult& r : *sent) results.push_back(Embed(SendResultJson(r)));
        return Dump({{"results", results}});
      });
  // Sends again every message kept as not sent or failed (`sotto retry`);
  // discarding one is POST /api/cancel.
  api.Route(
      "POST", "/api/retry",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        absl::StatusOr<int> sent = client.RetryUnsent();
        if (!sent.ok()) return sent.status();
        return Dump({{"sent", *sent}});
      });
  api.Route(
      "POST", "/api/cancel",
      [](Client& client, const httplib::Request&, const Json& body) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> id = StringMember(body, "id");
        if (!id.ok()) return id.status();
        if (absl::Status s = client.CancelScheduled(*id); !s.ok()) return s;
        return std::string("{}\n");
      });
}

void AddScheduledRoute(Api& api) {
  api.Route(
      "GET", "/api/scheduled",
      [](Client& client, const httplib::Request&, const Json&) -> absl::StatusOr<std::string> {
        auto scheduled = client.ListScheduled();
        if (!scheduled.ok()) return scheduled.status();
        Json messages = Json::array();
        for (const Message& m : *scheduled) messages.push_back(Embed(cli::MessageJson(m)));
        return Dump({{"messages", messages}});
      });
}

}  // namespace

void AddMessageRoutes(Api& api) {
  AddReadRoutes(api);
  AddSendRoutes(api);
  AddScheduledRoute(api);
}

}  // namespace sotto::desk
