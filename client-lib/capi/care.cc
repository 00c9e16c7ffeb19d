// The C API (sotto/sotto.h), part 4: the therapist's queue, response
// policies, invites and care links, safety numbers, settings.

#include <optional>

#include "client-lib/capi/capi_internal.h"
#include "sotto/invite.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

template <typename T, typename Wrapper, typename Field>
const T& Or(const Wrapper* w, Field field) {
  static const T* const kEmpty = new T();
  return w == nullptr ? *kEmpty : w->*field;
}

const sotto::QueueEntry& Q(const sotto_queue_entry* e) {
  return Or<sotto::QueueEntry>(e, &sotto_queue_entry::entry);
}
const sotto::ResponsePolicy& P(const sotto_policy* p) {
  return Or<sotto::ResponsePolicy>(p, &sotto_policy::policy);
}
const sotto::CareLink& L(const sotto_link* l) { return Or<sotto::CareLink>(l, &sotto_link::link); }
const sotto::SafetyNumberInfo& SN(const sotto_safety_number* s) {
  return Or<sotto::SafetyNumberInfo>(s, &sotto_safety_number::info);
}
const sotto::NotificationSettings& NS(const sotto_notification_settings* n) {
  return Or<sotto::NotificationSettings>(n, &sotto_notification_settings::settings);
}

// Hands notification settings to the caller when they asked for them.
absl::Status Deliver(absl::StatusOr<sotto::NotificationSettings> got,
                     sotto_notification_settings** out) {
  if (!got.ok()) return got.status();
  if (out != nullptr) *out = new sotto_notification_settings{std::move(*got)};
  return absl::OkStatus();
}

// The common shape of the calls that take a client and a handle.
template <typename Call>
int WithPeer(const char* function, sotto_client* client, const char* peer, const char* name,
             char** errmsg, Call&& call) {
  return Guard(function, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view who, Text(peer, name));
    return call(*c, who);
  });
}

}  // namespace

extern "C" {

// ---- the therapist's queue ----

const char* sotto_queue_entry_client(const sotto_queue_entry* e) { return Str(Q(e).client); }
sotto_conversation_state sotto_queue_entry_state(const sotto_queue_entry* e) {
  return static_cast<sotto_conversation_state>(Q(e).state);
}
int64_t sotto_queue_entry_oldest_waiting_ms(const sotto_queue_entry* e) {
  return Q(e).oldest_waiting_ms;
}
uint32_t sotto_queue_entry_waiting_count(const sotto_queue_entry* e) { return Q(e).waiting_count; }
int64_t sotto_queue_entry_last_reply_ms(const sotto_queue_entry* e) { return Q(e).last_reply_ms; }
int64_t sotto_queue_entry_snoozed_until_ms(const sotto_queue_entry* e) {
  return Q(e).snoozed_until_ms;
}
int64_t sotto_queue_entry_due_ms(const sotto_queue_entry* e) { return Q(e).due_ms; }
int sotto_queue_entry_overdue(const sotto_queue_entry* e) { return Q(e).overdue ? 1 : 0; }
const char* sotto_queue_entry_claimed_by(const sotto_queue_entry* e) {
  return Str(Q(e).claimed_by);
}
size_t sotto_queue_count(const sotto_queue* q) { return q == nullptr ? 0 : q->items.size(); }
const sotto_queue_entry* sotto_queue_get(const sotto_queue* q, size_t i) {
  return q == nullptr || i >= q->items.size() ? nullptr : &q->items[i];
}
int64_t sotto_queue_now_ms(const sotto_queue* q) { return q == nullptr ? 0 : q->now_ms; }
void sotto_queue_free(sotto_queue* q) { delete q; }

int sotto_queue_list(sotto_client* client, int include_all, sotto_queue** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(sotto::QueueView view, c->ListQueue(include_all != 0));
    auto queue = std::make_unique<sotto_queue>();
    queue->now_ms = view.now_ms;
    for (sotto::QueueEntry& e : view.entries) queue->items.push_back({std::move(e)});
    *out = queue.release();
    return absl::OkStatus();
  });
}

int sotto_queue_snooze(sotto_client* client, const char* client_handle, int64_t until_ms,
                       char** errmsg) {
  return WithPeer(__func__, client, client_handle, "client_handle", errmsg,
                  [&](sotto::Client& c, absl::string_view who) {
                    return c.Snooze(who, absl::FromUnixMillis(until_ms));
                  });
}
int sotto_queue_close(sotto_client* client, const char* client_handle, char** errmsg) {
  return WithPeer(__func__, client, client_handle, "client_handle", errmsg,
                  [](sotto::Client& c, absl::string_view who) { return c.Close(who); });
}
int sotto_queue_claim(sotto_client* client, const char* client_handle, char** errmsg) {
  return WithPeer(__func__, client, client_handle, "client_handle", errmsg,
                  [](sotto::Client& c, absl::string_view who) { return c.Claim(who); });
}

// ---- response policy ----

sotto_policy* sotto_policy_create(void) { return new (std::nothrow) sotto_policy(); }
void sotto_policy_free(sotto_policy* p) { delete p; }
void sotto_policy_set_time_zone(sotto_policy* p, const char* iana_name) {
  if (p != nullptr) p->policy.time_zone = iana_name == nullptr ? "" : iana_name;
}
void sotto_policy_set_working_days(sotto_policy* p, const int* days, size_t n) {
  if (p == nullptr) return;
  p->policy.working_days.clear();
  if (days != nullptr) p->policy.working_days.assign(days, days + n);
}
void sotto_policy_set_day_minutes(sotto_policy* p, int start_minute, int end_minute) {
  if (p == nullptr) return;
  p->policy.day_start_minute = start_minute;
  p->policy.day_end_minute = end_minute;
}
void sotto_policy_set_reply_window_minutes(sotto_policy* p, int minutes) {
  if (p != nullptr) p->policy.reply_window_minutes = minutes;
}
void sotto_policy_set_away(sotto_policy* p, int64_t from_ms, int64_t until_ms, const char* note) {
  if (p == nullptr) return;
  p->policy.away_from_ms = from_ms;
  p->policy.away_until_ms = until_ms;
  p->policy.away_note = note == nullptr ? "" : note;
}
const char* sotto_policy_time_zone(const sotto_policy* p) { return Str(P(p).time_zone); }
size_t sotto_policy_working_day_count(const sotto_policy* p) { return P(p).working_days.size(); }
int sotto_policy_working_day(const sotto_policy* p, size_t i) {
  return i < P(p).working_days.size() ? P(p).working_days[i] : 0;
}
int sotto_policy_day_start_minute(const sotto_policy* p) { return P(p).day_start_minute; }
int sotto_policy_day_end_minute(const sotto_policy* p) { return P(p).day_end_minute; }
int sotto_policy_reply_window_minutes(const sotto_policy* p) { return P(p).reply_window_minutes; }
int64_t sotto_policy_away_from_ms(const sotto_policy* p) { return P(p).away_from_ms; }
int64_t sotto_policy_away_until_ms(const sotto_policy* p) { return P(p).away_until_ms; }
const char* sotto_policy_away_note(const sotto_policy* p) { return Str(P(p).away_note); }
const char* sotto_policy_emergency_note(const sotto_policy* p) {
  return p == nullptr ? "" : p->emergency_note.c_str();
}

int sotto_set_policy(sotto_client* client, const sotto_policy* policy, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_RETURN_IF_ERROR(NotNull(policy, "policy"));
    return c->SetPolicy(policy->policy);
  });
}

int sotto_get_policy(sotto_client* client, const char* therapist, sotto_policy** out,
                     char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view who, Text(therapist, "therapist"));
    SOTTO_ASSIGN_OR_RETURN(sotto::PolicyView view, c->GetPolicy(who));
    *out = new sotto_policy{std::move(view.policy), std::move(view.emergency_note)};
    return absl::OkStatus();
  });
}

// ---- invites and care links ----

int sotto_create_invite(sotto_client* client, int64_t valid_for_ms, char** code,
                        int64_t* expires_at_ms, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(code, "code"));
    *code = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(sotto::Invite invite,
                           c->CreateInvite(MillisOr(valid_for_ms, absl::Hours(24 * 7))));
    *code = CopyString(invite.code);
    if (*code == nullptr) return absl::ResourceExhaustedError("out of memory");
    if (expires_at_ms != nullptr) *expires_at_ms = invite.expires_at_ms;
    return absl::OkStatus();
  });
}

int sotto_accept_invite(sotto_client* client, const char* code, char** therapist, char** errmsg) {
  if (therapist != nullptr) *therapist = nullptr;
  return WithPeer(__func__, client, code, "code", errmsg,
                  [&](sotto::Client& c, absl::string_view typed) -> absl::Status {
                    SOTTO_ASSIGN_OR_RETURN(std::string who, c.AcceptInvite(typed));
                    if (therapist != nullptr) *therapist = CopyString(who);
                    return absl::OkStatus();
                  });
}

int sotto_parse_invite_code(const char* typed, int* has_key_commitment, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(absl::string_view text, Text(typed, "typed"));
    SOTTO_ASSIGN_OR_RETURN(sotto::InviteCode parsed, sotto::ParseInviteCode(text));
    if (has_key_commitment != nullptr) *has_key_commitment = parsed.has_key_commitment() ? 1 : 0;
    return absl::OkStatus();
  });
}

const char* sotto_link_peer(const sotto_link* l) { return Str(L(l).peer); }
int sotto_link_active(const sotto_link* l) { return L(l).active && l != nullptr ? 1 : 0; }
int64_t sotto_link_since_ms(const sotto_link* l) { return L(l).since_ms; }
int64_t sotto_link_ended_ms(const sotto_link* l) { return L(l).ended_ms; }
const char* sotto_link_ended_by(const sotto_link* l) { return Str(L(l).ended_by); }
size_t sotto_link_list_count(const sotto_link_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_link* sotto_link_list_get(const sotto_link_list* l, size_t i) {
  return l == nullptr || i >= l->items.size() ? nullptr : &l->items[i];
}
void sotto_link_list_free(sotto_link_list* l) { delete l; }

int sotto_list_links(sotto_client* client, sotto_link_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::CareLink> links, c->ListLinks());
    auto list = std::make_unique<sotto_link_list>();
    for (sotto::CareLink& link : links) list->items.push_back({std::move(link)});
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_end_link(sotto_client* client, const char* peer, char** errmsg) {
  return WithPeer(__func__, client, peer, "peer", errmsg,
                  [](sotto::Client& c, absl::string_view who) { return c.EndLink(who); });
}

// ---- safety numbers ----

const char* sotto_safety_number_peer(const sotto_safety_number* s) { return Str(SN(s).peer); }
const char* sotto_safety_number_digits(const sotto_safety_number* s) { return Str(SN(s).digits); }
const char* sotto_safety_number_scannable(const sotto_safety_number* s, size_t* len) {
  return StrLen(SN(s).scannable, len);
}
int sotto_safety_number_verified(const sotto_safety_number* s) { return SN(s).verified ? 1 : 0; }
int sotto_safety_number_changed(const sotto_safety_number* s) { return SN(s).changed ? 1 : 0; }
void sotto_safety_number_free(sotto_safety_number* s) { delete s; }

int sotto_safety_number_get(sotto_client* client, const char* peer, sotto_safety_number** out,
                            char** errmsg) {
  if (out != nullptr) *out = nullptr;
  return WithPeer(__func__, client, peer, "peer", errmsg,
                  [&](sotto::Client& c, absl::string_view who) -> absl::Status {
                    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
                    SOTTO_ASSIGN_OR_RETURN(sotto::SafetyNumberInfo info, c.SafetyNumber(who));
                    *out = new sotto_safety_number{std::move(info)};
                    return absl::OkStatus();
                  });
}

int sotto_mark_verified(sotto_client* client, const char* peer, char** errmsg) {
  return WithPeer(__func__, client, peer, "peer", errmsg,
                  [](sotto::Client& c, absl::string_view who) { return c.MarkVerified(who); });
}

int sotto_accept_identity_change(sotto_client* client, const char* peer, const char* safety_number,
                                 char** errmsg) {
  return WithPeer(__func__, client, peer, "peer", errmsg,
                  [&](sotto::Client& c, absl::string_view who) -> absl::Status {
                    SOTTO_ASSIGN_OR_RETURN(absl::string_view number,
                                           Text(safety_number, "safety_number"));
                    return c.AcceptIdentityChange(who, number);
                  });
}

// ---- settings ----

int sotto_set_read_receipts(sotto_client* client, int enabled, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->SetReadReceipts(enabled != 0);
  });
}

int sotto_get_read_receipts(sotto_client* client, int* enabled, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_RETURN_IF_ERROR(NotNull(enabled, "enabled"));
    SOTTO_ASSIGN_OR_RETURN(bool on, c->ReadReceipts());
    *enabled = on ? 1 : 0;
    return absl::OkStatus();
  });
}

sotto_notification_mode sotto_notification_settings_mode(const sotto_notification_settings* n) {
  return static_cast<sotto_notification_mode>(NS(n).mode);
}
const char* sotto_notification_settings_email(const sotto_notification_settings* n) {
  return Str(NS(n).email);
}
uint32_t sotto_notification_settings_digest_interval_minutes(const sotto_notification_settings* n) {
  return NS(n).digest_interval_minutes;
}
int sotto_notification_settings_server_sends_mail(const sotto_notification_settings* n) {
  return NS(n).server_sends_mail ? 1 : 0;
}
void sotto_notification_settings_free(sotto_notification_settings* n) { delete n; }

int sotto_set_email_notifications(sotto_client* client, const char* email,
                                  int64_t digest_interval_ms, sotto_notification_settings** out,
                                  char** errmsg) {
  if (out != nullptr) *out = nullptr;
  return WithPeer(__func__, client, email, "email", errmsg,
                  [&](sotto::Client& c, absl::string_view address) {
                    std::optional<absl::Duration> digest;
                    if (digest_interval_ms >= 0) digest = absl::Milliseconds(digest_interval_ms);
                    return Deliver(c.SetEmailNotifications(address, digest), out);
                  });
}

int sotto_disable_notifications(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->DisableNotifications();
  });
}

int sotto_get_notification_settings(sotto_client* client, sotto_notification_settings** out,
                                    char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return Deliver(c->GetNotificationSettings(), out);
  });
}

}  // extern "C"
