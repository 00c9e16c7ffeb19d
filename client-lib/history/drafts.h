#ifndef SOTTO_CLIENT_LIB_HISTORY_DRAFTS_H_
#define SOTTO_CLIENT_LIB_HISTORY_DRAFTS_H_

// Drafts (sotto::Draft) in the profile's store, Space kDraft: messages being
// written, sealed by the store like the history, under a blinded key so that
// not even a draft's id is readable in the files. The caller holds the
// profile's lock.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sotto/local_store.h"
#include "sotto/types.h"

namespace sotto::client::history {

// How many drafts a profile keeps at most (a page autosaving under a new id
// by mistake should not fill the disk).
inline constexpr size_t kMaxDrafts = 1000;

// The store key of draft `id` in Space kDraft.
std::string DraftKey(const storage::LocalStore& store, absl::string_view id);

// OK if `draft` may be stored; INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateDraft(const Draft& draft);

// Stores `draft` (id already chosen and valid) with updated_ms = now_ms;
// returns it as stored. RESOURCE_EXHAUSTED past kMaxDrafts new ones.
absl::StatusOr<Draft> SaveDraft(storage::LocalStore& store, Draft draft, int64_t now_ms);

// Every draft, the most recently saved first (ties: by id).
absl::StatusOr<std::vector<Draft>> ListDrafts(storage::LocalStore& store);

// Deletes draft `id`; NOT_FOUND if there is none.
absl::Status DeleteDraft(storage::LocalStore& store, absl::string_view id);

}  // namespace sotto::client::history

#endif  // SOTTO_CLIENT_LIB_HISTORY_DRAFTS_H_
