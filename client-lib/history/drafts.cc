#include "client-lib/history/drafts.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/history_book.h"
#include "sotto/client/records.pb.h"
#include "sotto/status_macros.h"

namespace sotto::client::history {
namespace {

constexpr size_t kMaxDraftIdBytes = 64;
// A handle is at most 32 bytes; a draft's `to` is what the person typed so
// far, kept a little looser but bounded.
constexpr size_t kMaxDraftToBytes = 64;
// A message id is 32 hex; a prefix or a full id, never more.
constexpr size_t kMaxInReplyToBytes = 64;

bool IsIdChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

Draft FromStored(const StoredDraft& s) {
  Draft d;
  d.id = s.id();
  d.to = s.to();
  d.kind = s.kind() == static_cast<int32_t>(MessageKind::kLetter) ? MessageKind::kLetter
                                                                  : MessageKind::kText;
  d.subject = s.subject();
  d.body = s.body();
  d.in_reply_to = s.in_reply_to();
  d.updated_ms = s.updated_ms();
  return d;
}

}  // namespace

std::string DraftKey(const storage::LocalStore& store, absl::string_view id) {
  return store.Blind(absl::StrCat("draft:", id));
}

absl::Status ValidateDraft(const Draft& d) {
  if (d.id.empty() || d.id.size() > kMaxDraftIdBytes ||
      !std::all_of(d.id.begin(), d.id.end(), IsIdChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat("draft id: \"", absl::CHexEscape(d.id.substr(0, kMaxDraftIdBytes)),
                     "\" is not 1..64 characters of [a-z0-9_-]"));
  }
  if (d.to.size() > kMaxDraftToBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("draft to: ", d.to.size(), " bytes, more than ", kMaxDraftToBytes));
  }
  if (d.kind != MessageKind::kText && d.kind != MessageKind::kLetter) {
    return absl::InvalidArgumentError("draft kind: neither a text nor a letter");
  }
  if (d.subject.size() > content::kMaxLetterSubjectBytes) {
    return absl::InvalidArgumentError(absl::StrCat("draft subject: ", d.subject.size(),
                                                   " bytes, more than ",
                                                   content::kMaxLetterSubjectBytes));
  }
  if (d.body.size() > content::kMaxLetterBodyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("draft body: ", d.body.size(), " bytes, more than ",
                     content::kMaxLetterBodyBytes, " (a letter's limit)"));
  }
  if (d.in_reply_to.size() > kMaxInReplyToBytes ||
      !std::all_of(d.in_reply_to.begin(), d.in_reply_to.end(),
                   [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
    return absl::InvalidArgumentError("draft in_reply_to: not a message id (hex)");
  }
  return absl::OkStatus();
}

absl::StatusOr<Draft> SaveDraft(storage::LocalStore& store, Draft draft, int64_t now_ms) {
  SOTTO_RETURN_IF_ERROR(ValidateDraft(draft));
  const std::string key = DraftKey(store, draft.id);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                         store.Get(storage::Space::kDraft, key));
  if (!existing) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<storage::Entry> all, store.Scan(storage::Space::kDraft, ""));
    for (storage::Entry& e : all) storage::Wipe(e.value);
    if (all.size() >= kMaxDrafts) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this profile already keeps ", kMaxDrafts,
                       " drafts, the most it keeps; send or delete some first"));
    }
  } else {
    storage::Wipe(*existing);
  }
  draft.updated_ms = now_ms;
  StoredDraft stored;
  stored.set_id(draft.id);
  stored.set_to(draft.to);
  stored.set_kind(static_cast<int32_t>(draft.kind));
  stored.set_subject(draft.subject);
  stored.set_body(draft.body);
  stored.set_in_reply_to(draft.in_reply_to);
  stored.set_updated_ms(draft.updated_ms);
  std::string value = stored.SerializeAsString();
  storage::ScopedWipe wipe(value);
  SOTTO_RETURN_IF_ERROR(store.Apply({{storage::Space::kDraft, key, value}}));
  return draft;
}

absl::StatusOr<std::vector<Draft>> ListDrafts(storage::LocalStore& store) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                         store.Scan(storage::Space::kDraft, ""));
  std::vector<Draft> drafts;
  drafts.reserve(entries.size());
  for (storage::Entry& e : entries) {
    storage::ScopedWipe wipe(e.value);
    StoredDraft stored;
    if (!stored.ParseFromString(e.value)) {
      return absl::DataLossError("a stored draft is corrupt");
    }
    drafts.push_back(FromStored(stored));
  }
  std::sort(drafts.begin(), drafts.end(), [](const Draft& a, const Draft& b) {
    if (a.updated_ms != b.updated_ms) return a.updated_ms > b.updated_ms;
    return a.id < b.id;
  });
  return drafts;
}

absl::Status DeleteDraft(storage::LocalStore& store, absl::string_view id) {
  const std::string key = DraftKey(store, id);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                         store.Get(storage::Space::kDraft, key));
  if (!existing) {
    return absl::NotFoundError(
        absl::StrCat("there is no draft \"", absl::CHexEscape(id.substr(0, 64)), "\""));
  }
  storage::Wipe(*existing);
  return store.Apply({{storage::Space::kDraft, key, std::nullopt}});
}

}  // namespace sotto::client::history
