#include "client-lib/outgoing/own_devices.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "client-lib/content/codec.h"
#include "client-lib/outgoing/delivery.h"
#include "client-lib/session_setup.h"
#include "client-lib/storage/big_endian.h"
#include "client-lib/storage/wipe.h"
#include "sotto/status_macros.h"

namespace sotto::client {
namespace {

using storage::Space;
using storage::Write;

// Drops the rows in `keys` (sent, refused for good, or with no one to go
// to), in one write.
void Drop(ProfileSession& session, const std::vector<std::string>& keys)
    ABSL_LOCKS_EXCLUDED(session.mu) {
  if (keys.empty()) return;
  absl::MutexLock lock(&session.mu);
  if (!session.CheckNotLocked().ok()) return;
  std::vector<Write> writes;
  for (const std::string& key : keys) {
    writes.push_back(Write{Space::kSyncOutbox, key, std::nullopt});
  }
  session.store().Apply(writes).IgnoreError();
}

}  // namespace

absl::Status PinOwnKey(ProfileSession& session) {
  SOTTO_RETURN_IF_ERROR(session.CheckNotLocked());
  signal::Engine& engine = session.engine();
  const std::string& me = session.profile().handle();
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> pinned, engine.TrustedIdentity(me));
  if (pinned) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(std::string own_key, engine.IdentityPublicKey());
  return engine.ImportTrustedIdentity(me, own_key, /*verified=*/true);
}

bool OwnDevices::MayHaveOthers(ProfileSession& session) {
  return session.Now() - session.alone_since() >= kAloneFor;
}

void OwnDevices::Forget(ProfileSession& session) { session.set_alone_since(absl::InfinitePast()); }

Write OwnDevices::QueueWrite(int64_t now_ms, const v1::content::Content& content) {
  // Time first, so that a scan sends them in the order they happened (a
  // transcript before the cancellation of the same message); random bytes
  // after it, so that two queued in one millisecond do not collide.
  std::string key;
  storage::PutU64(&key, static_cast<uint64_t>(now_ms));
  std::string nonce(8, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) !=
      1) {
    std::abort();  // no entropy source at all
  }
  key += nonce;
  return Write{Space::kSyncOutbox, std::move(key), content.SerializeAsString()};
}

absl::StatusOr<bool> OwnDevices::ReachOthers() {
  const std::string me = session_.profile().handle();
  {
    absl::MutexLock lock(&session_.mu);
    SOTTO_RETURN_IF_ERROR(PinOwnKey(session_));
    SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> devices, session_.engine().SessionDevices(me));
    if (!devices.empty()) return true;
  }
  // The server lists our other devices only (never this one).
  SOTTO_ASSIGN_OR_RETURN(v1::GetBundleResponse bundles, session_.connection().GetBundle(me));
  const uint32_t this_device = session_.profile().device_id();
  v1::GetBundleResponse others;
  for (const v1::PreKeyBundle& b : bundles.devices()) {
    if (b.device_id() != this_device) *others.add_devices() = b;
  }
  absl::MutexLock lock(&session_.mu);
  if (others.devices().empty()) {
    session_.set_alone_since(session_.Now());
    return false;
  }
  SOTTO_RETURN_IF_ERROR(session_.CheckNotLocked());
  // A device presenting another key than ours is refused here
  // (FAILED_PRECONDITION): it gets nothing.
  SOTTO_RETURN_IF_ERROR(
      StartSessions(session_.engine(), me, [&] { return others; }, /*only=*/{}));
  return true;
}

void OwnDevices::Flush() {
  if (!flushing_.TryLock()) return;
  std::vector<storage::Entry> rows;
  {
    absl::MutexLock lock(&session_.mu);
    if (session_.CheckNotLocked().ok()) {
      absl::StatusOr<std::vector<storage::Entry>> scanned =
          session_.store().Scan(Space::kSyncOutbox, "");
      if (scanned.ok()) rows = std::move(*scanned);
    }
  }
  std::vector<std::string> done;
  if (!rows.empty()) {
    absl::StatusOr<bool> reachable = ReachOthers();
    if (reachable.ok() && !*reachable) {
      // No one to tell: a device linked later gets the history by transfer.
      for (const storage::Entry& row : rows) done.push_back(row.key);
      rows.clear();
    } else if (!reachable.ok()) {
      if (RefusedForGood(reachable.status())) {
        for (const storage::Entry& row : rows) done.push_back(row.key);
      }
      rows.clear();
    }
  }
  const std::string me = session_.profile().handle();
  for (storage::Entry& row : rows) {
    v1::content::Content content;
    if (!content.ParseFromString(row.value) || !content::ValidateContent(content).ok()) {
      done.push_back(row.key);  // unreadable: nothing can be sent for it
      continue;
    }
    Delivery delivery;
    delivery.header = {me, content::NewMessageId(), /*receipt=*/false, 0, /*sync=*/true};
    delivery.plaintext = content::EncodeContent(content);
    storage::Wipe(row.value);
    const absl::Status status = Deliver(session_, std::move(delivery)).status();
    if (status.ok() || RefusedForGood(status)) {
      done.push_back(row.key);
      continue;
    }
    // Unreachable, busy or a local error: the rest waits for the next call.
    break;
  }
  Drop(session_, done);
  flushing_.Unlock();
}

}  // namespace sotto::client
