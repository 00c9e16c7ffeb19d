// The C API (sotto/sotto.h), part 2: messages, sending, conversations and
// history.

#include "client-lib/capi/capi_internal.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

// Getters of a NULL object answer as for an empty one rather than crash.
const sotto::Message& M(const sotto_message* m) {
  static const sotto::Message* const kEmpty = new sotto::Message();
  return m == nullptr ? *kEmpty : m->message;
}

template <typename List>
auto* At(const List* l, size_t i) {
  return l == nullptr || i >= l->items.size() ? nullptr : &l->items[i];
}

sotto_send_result ToC(sotto::SendResult r) {
  sotto_send_result out;
  out.message.message = std::move(r.message);
  out.expectation = std::move(r.expectation);
  return out;
}

const sotto::ReplyExpectation& E(const sotto_send_result* r) {
  static const sotto::ReplyExpectation* const kNone = new sotto::ReplyExpectation();
  return r == nullptr || !r->expectation ? *kNone : *r->expectation;
}

// Hands a send's result to the caller when they asked for it.
absl::Status Deliver(absl::StatusOr<sotto::SendResult> sent, sotto_send_result** out) {
  if (!sent.ok()) return sent.status();
  if (out != nullptr) *out = new sotto_send_result(ToC(std::move(*sent)));
  return absl::OkStatus();
}

const sotto::Conversation& C(const sotto_conversation* c) {
  static const sotto::Conversation* const kEmpty = new sotto::Conversation();
  return c == nullptr ? *kEmpty : c->conversation;
}

}  // namespace

extern "C" {

// ---- message accessors ----

const char* sotto_message_id(const sotto_message* m) { return Str(M(m).id); }
const char* sotto_message_peer(const sotto_message* m) { return Str(M(m).peer); }
int sotto_message_outgoing(const sotto_message* m) { return M(m).outgoing ? 1 : 0; }
sotto_message_kind sotto_message_kind_of(const sotto_message* m) {
  return static_cast<sotto_message_kind>(M(m).kind);
}
const char* sotto_message_text(const sotto_message* m, size_t* len) {
  return StrLen(M(m).text, len);
}
const char* sotto_message_subject(const sotto_message* m, size_t* len) {
  return StrLen(M(m).subject, len);
}
const char* sotto_message_in_reply_to(const sotto_message* m) { return Str(M(m).in_reply_to); }
const char* sotto_message_thread_id(const sotto_message* m) { return Str(M(m).thread_id); }
int64_t sotto_message_server_time_ms(const sotto_message* m) { return M(m).server_time_ms; }
int64_t sotto_message_sent_at_ms(const sotto_message* m) { return M(m).sent_at_ms; }
sotto_delivery_state sotto_message_state(const sotto_message* m) {
  return static_cast<sotto_delivery_state>(M(m).state);
}
const char* sotto_message_failure(const sotto_message* m) { return Str(M(m).failure); }
uint32_t sotto_message_from_device(const sotto_message* m) { return M(m).from_device; }
sotto_message* sotto_message_copy(const sotto_message* m) {
  return m == nullptr ? nullptr : new (std::nothrow) sotto_message(*m);
}
void sotto_message_free(sotto_message* m) { delete m; }

size_t sotto_message_list_count(const sotto_message_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_message* sotto_message_list_get(const sotto_message_list* l, size_t i) {
  return At(l, i);
}
void sotto_message_list_free(sotto_message_list* l) { delete l; }

// ---- send results ----

const sotto_message* sotto_send_result_message(const sotto_send_result* r) {
  return r == nullptr ? nullptr : &r->message;
}
int sotto_send_result_has_expectation(const sotto_send_result* r) {
  return r != nullptr && r->expectation ? 1 : 0;
}
int64_t sotto_send_result_due_ms(const sotto_send_result* r) { return E(r).due_ms; }
uint32_t sotto_send_result_reply_window_minutes(const sotto_send_result* r) {
  return E(r).reply_window_minutes;
}
const char* sotto_send_result_away_note(const sotto_send_result* r) { return Str(E(r).away_note); }
int64_t sotto_send_result_away_until_ms(const sotto_send_result* r) { return E(r).away_until_ms; }
const char* sotto_send_result_emergency_note(const sotto_send_result* r) {
  return Str(E(r).emergency_note);
}
void sotto_send_result_free(sotto_send_result* r) { delete r; }
size_t sotto_send_result_list_count(const sotto_send_result_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_send_result* sotto_send_result_list_get(const sotto_send_result_list* l, size_t i) {
  return At(l, i);
}
void sotto_send_result_list_free(sotto_send_result_list* l) { delete l; }

// ---- sending ----

int sotto_send_text(sotto_client* client, const char* to, const char* text, size_t text_len,
                    int64_t deliver_at_ms, sotto_send_result** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (out != nullptr) *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view recipient, Text(to, "to"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view body, Bytes(text, text_len, "text"));
    sotto::SendOptions options;
    options.deliver_at = DeliverAt(deliver_at_ms);
    return Deliver(c->SendText(recipient, body, options), out);
  });
}

int sotto_send_letter(sotto_client* client, const char* to, const char* subject, size_t subject_len,
                      const char* body, size_t body_len, int64_t deliver_at_ms,
                      sotto_send_result** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (out != nullptr) *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view recipient, Text(to, "to"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view subj, Bytes(subject, subject_len, "subject"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view text, Bytes(body, body_len, "body"));
    sotto::SendOptions options;
    options.deliver_at = DeliverAt(deliver_at_ms);
    return Deliver(c->SendLetter(recipient, subj, text, options), out);
  });
}

int sotto_reply(sotto_client* client, const char* id_prefix, const char* body, size_t body_len,
                int64_t deliver_at_ms, sotto_send_result** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (out != nullptr) *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view prefix, Text(id_prefix, "id_prefix"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view text, Bytes(body, body_len, "body"));
    sotto::SendOptions options;
    options.deliver_at = DeliverAt(deliver_at_ms);
    return Deliver(c->Reply(prefix, text, options), out);
  });
}

int sotto_send_to_care_team(sotto_client* client, const char* text, size_t text_len,
                            int64_t deliver_at_ms, sotto_send_result_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (out != nullptr) *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view body, Bytes(text, text_len, "text"));
    sotto::SendOptions options;
    options.deliver_at = DeliverAt(deliver_at_ms);
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::SendResult> sent, c->SendToCareTeam(body, options));
    if (out == nullptr) return absl::OkStatus();
    auto list = std::make_unique<sotto_send_result_list>();
    for (sotto::SendResult& r : sent) list->items.push_back(ToC(std::move(r)));
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_cancel_scheduled(sotto_client* client, const char* id_prefix, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view prefix, Text(id_prefix, "id_prefix"));
    return c->CancelScheduled(prefix);
  });
}

int sotto_retry_unsent(sotto_client* client, int* sent, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (sent != nullptr) *sent = 0;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(int n, c->RetryUnsent());
    if (sent != nullptr) *sent = n;
    return absl::OkStatus();
  });
}

// ---- conversations and history ----

const char* sotto_conversation_peer(const sotto_conversation* c) { return Str(C(c).peer); }
int64_t sotto_conversation_last_activity_ms(const sotto_conversation* c) {
  return C(c).last_activity_ms;
}
uint32_t sotto_conversation_message_count(const sotto_conversation* c) {
  return C(c).message_count;
}
uint32_t sotto_conversation_unread_count(const sotto_conversation* c) { return C(c).unread_count; }
const char* sotto_conversation_preview(const sotto_conversation* c, size_t* len) {
  return StrLen(C(c).preview, len);
}
int sotto_conversation_last_outgoing(const sotto_conversation* c) {
  return C(c).last_outgoing ? 1 : 0;
}
size_t sotto_conversation_list_count(const sotto_conversation_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_conversation* sotto_conversation_list_get(const sotto_conversation_list* l, size_t i) {
  return At(l, i);
}
void sotto_conversation_list_free(sotto_conversation_list* l) { delete l; }

int sotto_list_conversations(sotto_client* client, sotto_conversation_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::Conversation> found, c->ListConversations());
    auto list = std::make_unique<sotto_conversation_list>();
    for (sotto::Conversation& conversation : found) {
      list->items.push_back(sotto_conversation{std::move(conversation)});
    }
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_read_conversation(sotto_client* client, const char* peer, sotto_message_list** out,
                            char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view who, Text(peer, "peer"));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::Message> found, c->ReadConversation(who));
    auto list = std::make_unique<sotto_message_list>();
    for (sotto::Message& message : found) list->items.push_back(sotto_message{std::move(message)});
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_send_pending_receipts(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->SendPendingReceipts();
  });
}

}  // extern "C"
