// sotto::Client::ListInvites: a therapist's own invites as the server keeps
// them, with the codes this device created (issue 18).

#include "client-lib/profile/profile_session.h"
#include "sotto/client.h"
#include "sotto/status_macros.h"

namespace sotto {

absl::StatusOr<std::vector<InviteInfo>> Client::ListInvites() {
  SOTTO_RETURN_IF_ERROR(session().Check());
  return absl::UnimplementedError("ListInvites is not implemented yet");
}

}  // namespace sotto
