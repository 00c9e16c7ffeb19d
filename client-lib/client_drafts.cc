// sotto::Client: drafts, the scheduled list and the due preview — the local
// capabilities the desk needs (issue 18), kept out of client.cc to keep
// that file to the core facade.

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "client-lib/history/drafts.h"
#include "client-lib/history/scheduled.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/client.h"
#include "sotto/reply_due.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

std::string NewDraftId() {
  unsigned char bytes[16];
  // RAND_bytes only fails when the OS has no entropy source at all.
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

absl::StatusOr<std::vector<Message>> Client::ListScheduled() {
  client::ProfileSession& s = session();
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  return client::history::ListScheduled(s.store(), s.NowMs());
}

absl::StatusOr<Draft> Client::SaveDraft(const Draft& draft) {
  Draft copy = draft;
  if (copy.id.empty()) copy.id = NewDraftId();
  client::ProfileSession& s = session();
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  return client::history::SaveDraft(s.store(), std::move(copy), s.NowMs());
}

absl::StatusOr<std::vector<Draft>> Client::ListDrafts() {
  client::ProfileSession& s = session();
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  return client::history::ListDrafts(s.store());
}

absl::Status Client::DeleteDraft(absl::string_view id) {
  client::ProfileSession& s = session();
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  return client::history::DeleteDraft(s.store(), id);
}

absl::StatusOr<absl::Time> PreviewDue(const ResponsePolicy& policy, absl::Time sent_at) {
  reply_due::Policy p;
  p.time_zone = policy.time_zone;
  p.working_days = policy.working_days;
  p.day_start_minute = policy.day_start_minute;
  p.day_end_minute = policy.day_end_minute;
  p.reply_window_minutes = policy.reply_window_minutes;
  p.away_from_ms = policy.away_from_ms;
  p.away_until_ms = policy.away_until_ms;
  p.away_note = policy.away_note;
  if (sent_at == absl::InfinitePast() || sent_at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("sent_at: must be a finite time");
  }
  SOTTO_ASSIGN_OR_RETURN(int64_t due_ms, reply_due::ReplyDueMs(p, absl::ToUnixMillis(sent_at)));
  return absl::FromUnixMillis(due_ms);
}

}  // namespace sotto
