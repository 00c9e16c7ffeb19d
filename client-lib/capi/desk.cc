// The C API (sotto/sotto.h), part 5: what the desk added (issue 18) —
// drafts, the scheduled list, the invite list and the due preview.

#include <memory>
#include <utility>

#include "client-lib/capi/capi_internal.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

const sotto::Draft& D(const sotto_draft* d) {
  static const sotto::Draft* const kEmpty = new sotto::Draft();
  return d == nullptr ? *kEmpty : d->draft;
}
const sotto::InviteInfo& I(const sotto_invite_info* i) {
  static const sotto::InviteInfo* const kEmpty = new sotto::InviteInfo();
  return i == nullptr ? *kEmpty : i->info;
}
// An optional string argument: NULL is "".
absl::string_view Opt(const char* s) { return s == nullptr ? absl::string_view() : s; }

}  // namespace

extern "C" {

int sotto_list_scheduled(sotto_client* client, sotto_message_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::Message> messages, c->ListScheduled());
    auto list = std::make_unique<sotto_message_list>();
    for (sotto::Message& m : messages) list->items.push_back({std::move(m)});
    *out = list.release();
    return absl::OkStatus();
  });
}

// ---- drafts ----

const char* sotto_draft_id(const sotto_draft* d) { return Str(D(d).id); }
const char* sotto_draft_to(const sotto_draft* d) { return Str(D(d).to); }
sotto_message_kind sotto_draft_kind(const sotto_draft* d) {
  return D(d).kind == sotto::MessageKind::kLetter ? SOTTO_KIND_LETTER : SOTTO_KIND_TEXT;
}
const char* sotto_draft_subject(const sotto_draft* d) { return Str(D(d).subject); }
const char* sotto_draft_body(const sotto_draft* d, size_t* len) { return StrLen(D(d).body, len); }
const char* sotto_draft_in_reply_to(const sotto_draft* d) { return Str(D(d).in_reply_to); }
int64_t sotto_draft_updated_ms(const sotto_draft* d) { return D(d).updated_ms; }
void sotto_draft_free(sotto_draft* d) { delete d; }
size_t sotto_draft_list_count(const sotto_draft_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_draft* sotto_draft_list_get(const sotto_draft_list* l, size_t i) {
  return l == nullptr || i >= l->items.size() ? nullptr : &l->items[i];
}
void sotto_draft_list_free(sotto_draft_list* l) { delete l; }

int sotto_save_draft(sotto_client* client, const char* id, const char* to, sotto_message_kind kind,
                     const char* subject, const char* body, size_t body_len,
                     const char* in_reply_to, sotto_draft** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (out != nullptr) *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view text, Bytes(body, body_len, "body"));
    if (kind != SOTTO_KIND_TEXT && kind != SOTTO_KIND_LETTER) {
      return absl::InvalidArgumentError("kind: neither SOTTO_KIND_TEXT nor SOTTO_KIND_LETTER");
    }
    sotto::Draft draft;
    draft.id = std::string(Opt(id));
    draft.to = std::string(Opt(to));
    draft.kind =
        kind == SOTTO_KIND_LETTER ? sotto::MessageKind::kLetter : sotto::MessageKind::kText;
    draft.subject = std::string(Opt(subject));
    draft.body = std::string(text);
    draft.in_reply_to = std::string(Opt(in_reply_to));
    SOTTO_ASSIGN_OR_RETURN(sotto::Draft saved, c->SaveDraft(draft));
    if (out != nullptr) *out = new sotto_draft{std::move(saved)};
    return absl::OkStatus();
  });
}

int sotto_list_drafts(sotto_client* client, sotto_draft_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::Draft> drafts, c->ListDrafts());
    auto list = std::make_unique<sotto_draft_list>();
    for (sotto::Draft& d : drafts) list->items.push_back({std::move(d)});
    *out = list.release();
    return absl::OkStatus();
  });
}

int sotto_delete_draft(sotto_client* client, const char* id, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view which, Text(id, "id"));
    return c->DeleteDraft(which);
  });
}

// ---- invites ----

const char* sotto_invite_info_id(const sotto_invite_info* i) { return Str(I(i).id); }
const char* sotto_invite_info_code(const sotto_invite_info* i) { return Str(I(i).code); }
int64_t sotto_invite_info_created_ms(const sotto_invite_info* i) { return I(i).created_ms; }
int64_t sotto_invite_info_expires_at_ms(const sotto_invite_info* i) { return I(i).expires_at_ms; }
int sotto_invite_info_used(const sotto_invite_info* i) { return I(i).used ? 1 : 0; }
const char* sotto_invite_info_used_by(const sotto_invite_info* i) { return Str(I(i).used_by); }
int64_t sotto_invite_info_used_ms(const sotto_invite_info* i) { return I(i).used_ms; }
size_t sotto_invite_list_count(const sotto_invite_list* l) {
  return l == nullptr ? 0 : l->items.size();
}
const sotto_invite_info* sotto_invite_list_get(const sotto_invite_list* l, size_t i) {
  return l == nullptr || i >= l->items.size() ? nullptr : &l->items[i];
}
void sotto_invite_list_free(sotto_invite_list* l) { delete l; }

int sotto_list_invites(sotto_client* client, sotto_invite_list** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::vector<sotto::InviteInfo> invites, c->ListInvites());
    auto list = std::make_unique<sotto_invite_list>();
    for (sotto::InviteInfo& i : invites) list->items.push_back({std::move(i)});
    *out = list.release();
    return absl::OkStatus();
  });
}

// ---- the due preview ----

int sotto_preview_due(const sotto_policy* policy, int64_t sent_at_ms, int64_t* due_ms,
                      char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(policy, "policy"));
    SOTTO_RETURN_IF_ERROR(NotNull(due_ms, "due_ms"));
    SOTTO_ASSIGN_OR_RETURN(absl::Time due,
                           sotto::PreviewDue(policy->policy, absl::FromUnixMillis(sent_at_ms)));
    *due_ms = absl::ToUnixMillis(due);
    return absl::OkStatus();
  });
}

}  // extern "C"
