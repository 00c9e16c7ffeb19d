// sotto::Client::ListInvites: a therapist's own invites as the server keeps
// them, with the codes this device created (issue 18). The server keeps
// only a hash of each code; CreateInvite keeps the code in the profile
// (Space kInvite, sealed) under the server's id for it, so the list can
// show it again.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client-lib/convert/wire_types.h"
#include "client-lib/history/history_book.h"
#include "client-lib/profile/profile_session.h"
#include "sotto/client.h"
#include "sotto/client/records.pb.h"
#include "sotto/status_macros.h"

namespace sotto {
namespace {

using client::storage::Space;

// How long after its expiry a code is kept on this device: as long as the
// server lists the invite.
constexpr int64_t kKeepCodeMs = int64_t{30} * 24 * 3600 * 1000;

std::string InviteKey(const client::storage::LocalStore& store, absl::string_view id) {
  return store.Blind(absl::StrCat("invite:", id));
}

bool IsInviteId(absl::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

}  // namespace

namespace client {

// Called by CreateInvite (client.cc) once the code is made: keeps it, and
// drops codes kept past kKeepCodeMs after their expiry.
absl::Status KeepInviteCode(ProfileSession& session, const Invite& invite) {
  if (!IsInviteId(invite.id)) return absl::OkStatus();  // an older server
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  storage::LocalStore& store = session.store();
  std::vector<storage::Write> writes;
  SOTTO_ASSIGN_OR_RETURN(std::vector<storage::Entry> kept, store.Scan(Space::kInvite, ""));
  for (const storage::Entry& e : kept) {
    StoredInvite old;
    if (old.ParseFromString(e.value) && old.expires_at_ms() + kKeepCodeMs < session.NowMs()) {
      writes.push_back({Space::kInvite, e.key, std::nullopt});
    }
  }
  StoredInvite stored;
  stored.set_id(invite.id);
  stored.set_code(invite.code);
  stored.set_expires_at_ms(invite.expires_at_ms);
  writes.push_back({Space::kInvite, InviteKey(store, invite.id), stored.SerializeAsString()});
  return store.Apply(writes);
}

}  // namespace client

absl::StatusOr<std::vector<InviteInfo>> Client::ListInvites() {
  client::ProfileSession& s = session();
  SOTTO_RETURN_IF_ERROR(s.Check());
  if (role() != Role::kTherapist) {
    return absl::PermissionDeniedError("only a therapist has invites to list");
  }
  SOTTO_ASSIGN_OR_RETURN(v1::ListInvitesResponse response, s.connection().ListInvites());
  std::vector<InviteInfo> invites;
  for (const v1::InviteInfo& i : response.invites()) {
    if (!IsInviteId(i.id())) {
      return absl::InternalError(
          "the server sent an invite.id in ListInvites that is not 16 hex; the answer was refused");
    }
    SOTTO_RETURN_IF_ERROR(
        client::CheckServerHandle("invite.used_by in ListInvites", i.used_by(), true));
    InviteInfo info;
    info.id = i.id();
    info.created_ms = i.created_ms();
    info.expires_at_ms = i.expires_at_ms();
    info.used = i.used();
    info.used_by = i.used_by();
    info.used_ms = i.used_ms();
    invites.push_back(std::move(info));
  }
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.Enter());
  for (InviteInfo& info : invites) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           s.store().Get(Space::kInvite, InviteKey(s.store(), info.id)));
    client::StoredInvite stored;
    if (value && stored.ParseFromString(*value)) info.code = stored.code();
  }
  return invites;
}

}  // namespace sotto
