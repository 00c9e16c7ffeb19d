#include "json_output.h"

#include "absl/strings/escaping.h"
#include "json_writer.h"
#include "output.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

// A string member that is null when empty (no subject, not claimed, ...).
void OptionalString(JsonWriter& w, absl::string_view key, const std::string& value) {
  w.Key(key);
  if (value.empty()) {
    w.Null();
  } else {
    w.String(value);
  }
}

void WriteMessage(JsonWriter& w, const Message& m) {
  w.BeginObject();
  w.Key("id");
  w.String(m.id);
  w.Key("peer");
  w.String(m.peer);
  w.Key("outgoing");
  w.Bool(m.outgoing);
  w.Key("kind");
  w.String(m.kind == MessageKind::kLetter ? "letter" : "text");
  w.Key("state");
  // One word per value, as every enumeration here ("not sent" -> "not_sent").
  w.String(DeliveryStateName(m.state));
  w.Time("server_time", m.server_time_ms);
  w.Time("sent_at", m.sent_at_ms);
  OptionalString(w, "subject", m.subject);
  OptionalString(w, "in_reply_to", m.in_reply_to);
  OptionalString(w, "thread_id", m.thread_id);
  OptionalString(w, "failure", m.failure);
  // Sent from another device of this account (its sent transcript); 0 when
  // this device sent it or it is incoming.
  w.Key("from_device");
  w.Int(m.from_device);
  w.Key("text");
  w.String(m.text);
  w.EndObject();
}

void WritePolicy(JsonWriter& w, const std::string& therapist, const ResponsePolicy& p) {
  w.BeginObject();
  w.Key("therapist");
  w.String(therapist);
  w.Key("time_zone");
  w.String(p.time_zone);
  w.Key("working_days");
  w.BeginArray();
  for (int day : p.working_days) w.Int(day);
  w.EndArray();
  w.Key("day_start");
  w.String(FormatMinuteOfDay(p.day_start_minute));
  w.Key("day_end");
  w.String(FormatMinuteOfDay(p.day_end_minute));
  w.Key("reply_window_minutes");
  w.Int(p.reply_window_minutes);
  w.Time("away_from", p.away_from_ms);
  w.Time("away_until", p.away_until_ms);
  OptionalString(w, "away_note", p.away_note);
  w.EndObject();
}

}  // namespace

std::string InboxJson(const std::vector<Conversation>& conversations) {
  JsonWriter w;
  w.BeginObject();
  w.Key("conversations");
  w.BeginArray();
  for (const Conversation& c : conversations) {
    w.BeginObject();
    w.Key("peer");
    w.String(c.peer);
    w.Time("last_activity", c.last_activity_ms);
    w.Key("message_count");
    w.Int(c.message_count);
    w.Key("unread_count");
    w.Int(c.unread_count);
    w.Key("last_outgoing");
    w.Bool(c.last_outgoing);
    w.Key("preview");
    w.String(c.preview);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string ConversationJson(const std::string& peer, const std::vector<Message>& messages) {
  JsonWriter w;
  w.BeginObject();
  w.Key("peer");
  w.String(peer);
  w.Key("messages");
  w.BeginArray();
  for (const Message& m : messages) WriteMessage(w, m);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string MessageJson(const Message& message) {
  JsonWriter w;
  WriteMessage(w, message);
  return w.Take();
}

std::string QueueJson(const QueueView& view, bool include_all) {
  JsonWriter w;
  w.BeginObject();
  w.Key("include_all");
  w.Bool(include_all);
  w.Time("now", view.now_ms);
  w.Key("entries");
  w.BeginArray();
  for (const QueueEntry& e : view.entries) {
    w.BeginObject();
    w.Key("client");
    w.String(e.client);
    w.Key("state");
    w.String(StateName(e.state));
    w.Key("waiting_count");
    w.Int(e.waiting_count);
    w.Time("oldest_waiting", e.oldest_waiting_ms);
    w.Time("last_reply", e.last_reply_ms);
    w.Time("due", e.due_ms);
    w.Key("overdue");
    w.Bool(e.overdue);
    w.Time("snoozed_until", e.snoozed_until_ms);
    OptionalString(w, "claimed_by", e.claimed_by);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string LinksJson(const std::vector<CareLink>& links) {
  JsonWriter w;
  w.BeginObject();
  w.Key("links");
  w.BeginArray();
  for (const CareLink& link : links) {
    w.BeginObject();
    w.Key("peer");
    w.String(link.peer);
    w.Key("active");
    w.Bool(link.active);
    w.Time("since", link.since_ms);
    w.Time("ended", link.ended_ms);
    OptionalString(w, "ended_by", link.ended_by);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string PoliciesJson(const std::vector<std::pair<std::string, PolicyView>>& views) {
  JsonWriter w;
  w.BeginObject();
  w.Key("policies");
  w.BeginArray();
  std::string emergency_note;
  for (const auto& [therapist, view] : views) {
    WritePolicy(w, therapist, view.policy);
    if (!view.emergency_note.empty()) emergency_note = view.emergency_note;
  }
  w.EndArray();
  OptionalString(w, "emergency_note", emergency_note);
  w.EndObject();
  return w.Take();
}

std::string SafetyNumberJson(const std::string& peer, const SafetyNumberInfo& number) {
  JsonWriter w;
  w.BeginObject();
  w.Key("peer");
  w.String(peer);
  w.Key("digits");
  w.String(number.digits);
  w.Key("scannable");
  w.String(absl::BytesToHexString(number.scannable));
  w.Key("verified");
  w.Bool(number.verified);
  w.Key("changed");
  w.Bool(number.changed);
  w.EndObject();
  return w.Take();
}

}  // namespace sotto::cli
