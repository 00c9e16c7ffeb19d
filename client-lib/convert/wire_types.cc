#include "client-lib/convert/wire_types.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client-lib/profile/handle.h"
#include "sotto/status_macros.h"

namespace sotto::client {

// The public enum mirrors the wire's numbers, so that the switch below is
// the only place that could drift.
static_assert(static_cast<int>(ConversationState::kWaiting) == v1::CONVERSATION_WAITING);
static_assert(static_cast<int>(ConversationState::kAnswered) == v1::CONVERSATION_ANSWERED);
static_assert(static_cast<int>(ConversationState::kSnoozed) == v1::CONVERSATION_SNOOZED);
static_assert(static_cast<int>(ConversationState::kClosed) == v1::CONVERSATION_CLOSED);

std::optional<ReplyExpectation> ToExpectation(const v1::SendResponse& response) {
  if (!response.has_expectation()) return std::nullopt;
  const v1::ReplyExpectation& in = response.expectation();
  if (in.due_ms() <= 0 && in.emergency_note().empty()) return std::nullopt;
  ReplyExpectation out;
  out.due_ms = in.due_ms();
  out.reply_window_minutes = in.reply_window_minutes();
  out.away_note = in.away_note();
  out.away_until_ms = in.away_until_ms();
  out.emergency_note = in.emergency_note();
  return out;
}

v1::ResponsePolicy ToProto(const ResponsePolicy& in) {
  v1::ResponsePolicy out;
  out.set_time_zone(in.time_zone);
  for (int day : in.working_days) out.add_working_days(static_cast<uint32_t>(day));
  out.set_day_start_minute(static_cast<uint32_t>(in.day_start_minute));
  out.set_day_end_minute(static_cast<uint32_t>(in.day_end_minute));
  out.set_reply_window_minutes(static_cast<uint32_t>(in.reply_window_minutes));
  out.set_away_from_ms(in.away_from_ms);
  out.set_away_until_ms(in.away_until_ms);
  out.set_away_note(in.away_note);
  return out;
}

ResponsePolicy FromProto(const v1::ResponsePolicy& in) {
  ResponsePolicy out;
  out.time_zone = in.time_zone();
  out.working_days.assign(in.working_days().begin(), in.working_days().end());
  out.day_start_minute = static_cast<int>(in.day_start_minute());
  out.day_end_minute = static_cast<int>(in.day_end_minute());
  out.reply_window_minutes = static_cast<int>(in.reply_window_minutes());
  out.away_from_ms = in.away_from_ms();
  out.away_until_ms = in.away_until_ms();
  out.away_note = in.away_note();
  return out;
}

ConversationState FromProto(v1::ConversationState state) {
  switch (state) {
    case v1::CONVERSATION_ANSWERED:
      return ConversationState::kAnswered;
    case v1::CONVERSATION_SNOOZED:
      return ConversationState::kSnoozed;
    case v1::CONVERSATION_CLOSED:
      return ConversationState::kClosed;
    default:
      return ConversationState::kWaiting;
  }
}

absl::Status CheckServerHandle(absl::string_view what, absl::string_view handle,
                               bool may_be_empty) {
  if (may_be_empty && handle.empty()) return absl::OkStatus();
  if (ValidateHandle(handle).ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("the server sent \"", absl::CHexEscape(handle), "\" as ",
                                          what, ", which is not a handle; the answer was refused"));
}

absl::StatusOr<std::vector<CareLink>> FromProto(const v1::ListLinksResponse& in) {
  std::vector<CareLink> out;
  for (const v1::CareLink& l : in.links()) {
    SOTTO_RETURN_IF_ERROR(CheckServerHandle("link.peer in ListLinks", l.peer()));
    SOTTO_RETURN_IF_ERROR(CheckServerHandle("link.ended_by in ListLinks", l.ended_by(), true));
    CareLink link;
    link.peer = l.peer();
    link.active = l.state() == v1::LINK_ACTIVE;
    link.since_ms = l.since_ms();
    link.ended_ms = l.ended_ms();
    link.ended_by = l.ended_by();
    out.push_back(std::move(link));
  }
  return out;
}

absl::StatusOr<QueueView> FromProto(const v1::ListQueueResponse& in) {
  QueueView view;
  view.now_ms = in.now_ms();
  for (const v1::QueueEntry& e : in.entries()) {
    SOTTO_RETURN_IF_ERROR(CheckServerHandle("entry.client in ListQueue", e.client()));
    SOTTO_RETURN_IF_ERROR(CheckServerHandle("entry.claimed_by in ListQueue", e.claimed_by(), true));
    QueueEntry out;
    out.client = e.client();
    out.state = FromProto(e.state());
    out.oldest_waiting_ms = e.oldest_waiting_ms();
    out.waiting_count = e.waiting_count();
    out.last_reply_ms = e.last_reply_ms();
    out.snoozed_until_ms = e.snoozed_until_ms();
    out.due_ms = e.due_ms();
    out.overdue = e.overdue();
    out.claimed_by = e.claimed_by();
    view.entries.push_back(std::move(out));
  }
  return view;
}

absl::Status ValidatePolicy(const ResponsePolicy& policy) {
  if (policy.time_zone.empty()) {
    return absl::InvalidArgumentError("time_zone is empty: give an IANA name, e.g. Europe/Berlin");
  }
  if (policy.working_days.empty()) {
    return absl::InvalidArgumentError("working_days is empty: give at least one day (1 = Monday)");
  }
  for (int day : policy.working_days) {
    if (day < 1 || day > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("working_days: ", day, " is not a weekday (1 = Monday … 7 = Sunday)"));
    }
  }
  if (policy.day_start_minute < 0 || policy.day_end_minute > 24 * 60 ||
      policy.day_end_minute <= policy.day_start_minute) {
    return absl::InvalidArgumentError(
        absl::StrCat("day_start_minute ", policy.day_start_minute, " and day_end_minute ",
                     policy.day_end_minute, ": the end must be after the start, within 0..1440"));
  }
  if (policy.reply_window_minutes < 1 || policy.reply_window_minutes > 43200) {
    return absl::InvalidArgumentError(
        absl::StrCat("reply_window_minutes ", policy.reply_window_minutes, " is outside 1..43200"));
  }
  const bool no_away = policy.away_from_ms == 0 && policy.away_until_ms == 0;
  if (!no_away && policy.away_until_ms <= policy.away_from_ms) {
    return absl::InvalidArgumentError("away_until_ms must be after away_from_ms");
  }
  if (policy.away_note.size() > 500) {
    return absl::InvalidArgumentError(
        absl::StrCat("away_note is ", policy.away_note.size(), " bytes; the limit is 500"));
  }
  return absl::OkStatus();
}

}  // namespace sotto::client
