#include "client-lib/profile/profile_session.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/profile/registration.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "client-lib/storage/wipe.h"
#include "sotto/status_macros.h"

namespace sotto::client {

using storage::Space;
using storage::Write;

ProfileSession::ProfileSession(std::unique_ptr<storage::LocalStore> store,
                               std::unique_ptr<signal::Engine> engine, Profile profile,
                               std::string server_address, const transport::TlsConfig& tls,
                               std::shared_ptr<const Clock> clock)
    : store_(std::move(store)),
      engine_(std::move(engine)),
      profile_(std::move(profile)),
      connection_(std::move(server_address), tls),
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      read_receipts_(!profile_.read_receipts_off()),
      last_activity_ms_(NowMs()) {
  connection_.SetCredentials({profile_.handle(), profile_.device_id(), profile_.device_secret()});
}

void ProfileSession::EnableLocking(std::string profile_dir, absl::Duration auto_lock_after) {
  absl::MutexLock lock(&mu);
  profile_dir_ = std::move(profile_dir);
  auto_lock_after_ = auto_lock_after;
  const bool off =
      auto_lock_after == absl::InfiniteDuration() || auto_lock_after <= absl::ZeroDuration();
  auto_lock_ms_ = off ? 0 : std::max<int64_t>(1, absl::ToInt64Milliseconds(auto_lock_after));
}

bool ProfileSession::AutoLockDue() const {
  const int64_t after = auto_lock_ms_.load();
  return after > 0 && NowMs() - last_activity_ms_.load() >= after;
}

absl::Status ProfileSession::CheckNotLocked() const {
  if (deleted_) return DeletedError();
  return locked_ ? LockedError() : absl::OkStatus();
}

namespace {
// How many Client::BackgroundCalls live on this thread: the app's own
// background work, which must not keep the profile from locking itself.
thread_local int background_depth = 0;
}  // namespace

void ProfileSession::BeginBackgroundCalls() { ++background_depth; }
void ProfileSession::EndBackgroundCalls() { --background_depth; }

absl::Status ProfileSession::Enter() {
  SOTTO_RETURN_IF_ERROR(CheckNotLocked());
  if (AutoLockDue()) {
    LockHeld();
    return LockedError();
  }
  if (background_depth == 0) last_activity_ms_ = NowMs();
  return absl::OkStatus();
}

absl::Status ProfileSession::Check() {
  absl::MutexLock lock(&mu);
  return Enter();
}

absl::Status ProfileSession::LockedError() const {
  return absl::FailedPreconditionError(absl::StrCat(
      "locked: the profile of '", profile_.handle(), "' is locked (by Lock() or after ",
      absl::FormatDuration(auto_lock_after_), " without use); unlock it with the passphrase"));
}

ProfileSession::~ProfileSession() {
  storage::Wipe(*profile_.mutable_device_secret());
  // connection_ wipes its own copy (in hex) when destroyed.
}

void ProfileSession::ForgetDeviceSecret() {
  storage::Wipe(*profile_.mutable_device_secret());
  profile_.clear_device_secret();
  connection_.ClearCredentials();
}

absl::Status ProfileSession::CommitStore() {
  SOTTO_RETURN_IF_ERROR(CheckNotLocked());
  const uint64_t ticket = ++commit_tickets_;
  // Wait while another caller syncs; its sync may have begun before this
  // caller's writes, so only a sync that ends with committed_ >= ticket
  // counts.
  auto turn = [this, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return committed_ >= ticket || !committing_;
  };
  mu.Await(absl::Condition(&turn));
  if (committed_ >= ticket) return commit_status_;
  // A Lock may have closed the store while this caller waited (its writes
  // were synced when the store closed, but it is gone now).
  SOTTO_RETURN_IF_ERROR(CheckNotLocked());
  committing_ = true;
  const uint64_t covers = commit_tickets_;
  storage::LocalStore* store = store_.get();
  mu.Unlock();
  absl::Status synced = store->SyncApplied();
  mu.Lock();
  committing_ = false;
  committed_ = covers;
  commit_status_ = synced;
  return synced;
}

void ProfileSession::AwaitNoCommit() {
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !committing_ && outside_readers_ == 0;
  };
  mu.Await(absl::Condition(&idle));
}

void ProfileSession::LockHeld() {
  AwaitNoCommit();
  // The engine first: it points into the store.
  engine_.reset();
  store_.reset();  // closes RocksDB; the data key's subkeys are zeroed
  ForgetDeviceSecret();
  locked_ = true;
}

absl::Status ProfileSession::Lock() {
  absl::MutexLock lock(&mu);
  if (deleted_) return DeletedError();
  if (profile_dir_.empty()) {
    return absl::UnimplementedError(
        "Lock needs a profile in a profile directory; an app-provided store holds its own "
        "keys (destroy the Client instead)");
  }
  if (!locked_) LockHeld();
  return absl::OkStatus();
}

absl::Status ProfileSession::Unlock(absl::string_view passphrase) {
  absl::MutexLock lock(&mu);
  if (deleted_) return DeletedError();
  if (!locked_) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<storage::LocalStore> store,
                         storage::OpenEncryptedStore(profile_dir_, passphrase));
  SOTTO_ASSIGN_OR_RETURN(std::optional<Profile> profile, LoadProfile(*store));
  if (!profile || profile->handle() != profile_.handle() ||
      profile->device_id() != profile_.device_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat(profile_dir_, " no longer holds the profile of '", profile_.handle(), "'"));
  }
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<signal::Engine> engine, signal::Engine::Open(store.get()));
  profile_.set_device_secret(profile->device_secret());
  storage::Wipe(*profile->mutable_device_secret());
  connection_.SetCredentials({profile_.handle(), profile_.device_id(), profile_.device_secret()});
  store_ = std::move(store);
  engine_ = std::move(engine);
  locked_ = false;
  last_activity_ms_ = NowMs();
  return absl::OkStatus();
}

bool ProfileSession::IsLocked() {
  absl::MutexLock lock(&mu);
  // An auto-lock that is due fires here rather than at the next call: an
  // app asking "locked?" (the desk's page, the agent) must not be told
  // "open" and then meet "locked" when it acts on that answer.
  if (!locked_ && !deleted_ && AutoLockDue()) LockHeld();
  return locked_;
}

absl::Status ProfileSession::DeletedError() const {
  return absl::FailedPreconditionError(absl::StrCat(
      "the account '", profile_.handle(),
      "' was deleted and this device's profile wiped; this Client can no longer be used"));
}

absl::Status ProfileSession::DeleteAccount(absl::string_view confirm_handle) {
  {
    absl::MutexLock lock(&mu);
    SOTTO_RETURN_IF_ERROR(Enter());
    if (confirm_handle != profile_.handle()) {
      return absl::InvalidArgumentError(
          absl::StrCat("to delete the account, confirm with its handle '", profile_.handle(),
                       "' (got '", confirm_handle, "'); nothing was deleted"));
    }
  }
  // The server first, without mu (other calls go on meanwhile): until it
  // confirms, the local keys are the only way back into the account, so a
  // failure here must leave them alone.
  SOTTO_RETURN_IF_ERROR(connection_.DeleteAccount(profile_.handle()));
  absl::MutexLock lock(&mu);
  if (deleted_) return absl::OkStatus();  // a concurrent call finished it
  deleted_ = true;
  deleted_flag_ = true;  // ends a running Listen
  ForgetDeviceSecret();
  if (locked_) {
    // Locked meanwhile: the store is closed, so only its files are left.
    locked_ = false;
  }
  absl::Status wiped = WipeLocked();
  if (!wiped.ok()) {
    return absl::Status(
        wiped.code(),
        absl::StrCat("the account '", profile_.handle(),
                     "' was deleted on the server, but wiping this device's profile failed: ",
                     wiped.message(),
                     profile_dir_.empty()
                         ? ""
                         : absl::StrCat("; delete the directory ", profile_dir_, " by hand")));
  }
  return absl::OkStatus();
}

absl::Status ProfileSession::WipeLocked() {
  AwaitNoCommit();
  if (profile_dir_.empty()) {
    // An app-provided store: delete every record we wrote, in one Apply.
    std::vector<Write> deletes;
    for (int space = static_cast<int>(Space::kMeta); space <= static_cast<int>(storage::kLastSpace);
         ++space) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                             store_->Scan(static_cast<Space>(space), ""));
      for (storage::Entry& e : entries) {
        deletes.push_back(Write{static_cast<Space>(space), std::move(e.key), std::nullopt});
      }
    }
    absl::Status applied = store_->Apply(deletes);
    engine_.reset();  // it points into the store
    store_.reset();
    return applied;
  }
  // Close the store first (its keys are zeroed, its lock released), then
  // overwrite and delete its files.
  engine_.reset();
  store_.reset();
  return storage::WipeEncryptedStore(profile_dir_);
}

absl::Status ProfileSession::ChangePassphrase(absl::string_view old_passphrase,
                                              absl::string_view new_passphrase) {
  absl::MutexLock lock(&mu);
  SOTTO_RETURN_IF_ERROR(Enter());
  return store_->ChangePassphrase(old_passphrase, new_passphrase);
}

absl::Status ProfileSession::SetReadReceipts(bool enabled) {
  absl::MutexLock lock(&mu);
  SOTTO_RETURN_IF_ERROR(Enter());
  // The record holds the device secret: both copies are wiped after.
  Profile updated = profile_;
  updated.set_read_receipts_off(!enabled);
  std::vector<Write> writes{ProfileWrite(updated)};
  storage::Wipe(*updated.mutable_device_secret());
  absl::Status applied = store_->Apply(writes);
  storage::Wipe(*writes[0].value);
  SOTTO_RETURN_IF_ERROR(applied);
  read_receipts_ = enabled;
  return absl::OkStatus();
}

}  // namespace sotto::client
