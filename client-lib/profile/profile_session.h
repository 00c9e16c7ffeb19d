#ifndef SOTTO_CLIENT_LIB_PROFILE_PROFILE_SESSION_H_
#define SOTTO_CLIENT_LIB_PROFILE_PROFILE_SESSION_H_

// One open profile: the unlocked local store and Signal engine, the profile
// record, the connection to the server and the clock — the state every part
// of the Client (outgoing, incoming, keys, identity) works on.
//
// The rule that keeps the Client responsive: `mu` guards the store and the
// engine and is held only for local work (encrypting, decrypting, reading
// and writing the store), never across a call to the server. A part that
// talks to the server takes `mu`, prepares, releases it, makes the call, and
// takes it again to record the result — checking again that the profile is
// still unlocked, because a Lock may have come in between.

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client-lib/signal/engine.h"
#include "client-lib/transport/connection.h"
#include "sotto/client/records.pb.h"
#include "sotto/clock.h"
#include "sotto/local_store.h"

namespace sotto::client {

class ProfileSession {
 public:
  ProfileSession(std::unique_ptr<storage::LocalStore> store, std::unique_ptr<signal::Engine> engine,
                 Profile profile, std::string server_address, const transport::TlsConfig& tls,
                 std::shared_ptr<const Clock> clock);
  // Wipes the device secret.
  ~ProfileSession();
  ProfileSession(const ProfileSession&) = delete;
  ProfileSession& operator=(const ProfileSession&) = delete;

  // Set for a profile in a profile directory: Lock and auto-lock reopen the
  // store from it.
  void EnableLocking(std::string profile_dir, absl::Duration auto_lock_after)
      ABSL_LOCKS_EXCLUDED(mu);

  // Every call passes here first (under mu): refuses while locked or deleted,
  // locks after the auto-lock time without a call, and counts this call as
  // activity (unless this thread is inside BeginBackgroundCalls).
  absl::Status Enter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Calls this thread makes between Begin and End do not count as activity
  // in Enter() (Client::BackgroundCalls; nests).
  static void BeginBackgroundCalls();
  static void EndBackgroundCalls();
  // Enter() for calls that do not otherwise hold mu.
  absl::Status Check() ABSL_LOCKS_EXCLUDED(mu);
  // Refuses while locked or deleted, without counting as activity (incoming
  // messages and a send's second half are not the user's doing).
  absl::Status CheckNotLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Whether the idle time for the automatic log-off has passed. Lock-free,
  // for Listen's watchdog.
  bool AutoLockDue() const;

  // Closes the store (its keys are wiped), drops the engine, and wipes the
  // device secret here and in the connection (profile().device_secret() is
  // empty and connection().HasCredentials() false until Unlock).
  absl::Status Lock() ABSL_LOCKS_EXCLUDED(mu);
  absl::Status Unlock(absl::string_view passphrase) ABSL_LOCKS_EXCLUDED(mu);
  bool IsLocked() ABSL_LOCKS_EXCLUDED(mu);
  // Lock() with mu held (auto-lock).
  void LockHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status LockedError() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  absl::Status DeleteAccount(absl::string_view confirm_handle) ABSL_LOCKS_EXCLUDED(mu);
  absl::Status DeletedError() const;
  // For Listen's watchdog, which does not take mu.
  bool deleted_flag() const { return deleted_flag_.load(); }
  bool deleted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return deleted_; }

  absl::Status ChangePassphrase(absl::string_view old_passphrase, absl::string_view new_passphrase)
      ABSL_LOCKS_EXCLUDED(mu);
  absl::Status SetReadReceipts(bool enabled) ABSL_LOCKS_EXCLUDED(mu);
  bool read_receipts() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return read_receipts_; }

  // When the server last said this account has no other device
  // (InfinitePast: not known, or it has others). OwnDevices reads it to
  // skip syncs no one would receive; linking a device resets it.
  absl::Time alone_since() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return alone_since_; }
  void set_alone_since(absl::Time t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { alone_since_ = t; }

  // The store and engine; valid only after Enter()/CheckNotLocked() said OK
  // under the same hold of mu.
  storage::LocalStore& store() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return *store_; }
  signal::Engine& engine() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return *engine_; }

  // The commit queue (issue 21): returns once every store write applied
  // before the call is on disk. Callers that arrive while a sync runs wait
  // for it and then share the next one: the first of them to get mu back
  // syncs for all (LocalStore::SyncApplied). mu is released while the disk
  // syncs, so other calls encrypt and write meanwhile; the store stays
  // open until the sync ends (Lock and DeleteAccount wait for it). After
  // it returns, check CheckNotLocked again before using the store: a Lock
  // may have come in between. A failed sync fails every caller it covered.
  absl::Status CommitStore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // A reader of a snapshot of the store (a backup written without mu)
  // registers here while it reads: Lock and DeleteAccount wait for it to end
  // before they close the store, as for a CommitStore.
  void BeginOutsideRead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { ++outside_readers_; }
  void EndOutsideRead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { --outside_readers_; }

  // Handle, role, device id (the device secret is wiped while locked).
  const Profile& profile() const { return profile_; }
  // Thread-safe; never call it with mu held (it goes to the network).
  transport::Connection& connection() { return connection_; }
  const std::string& server_address() const { return connection_.address(); }

  absl::Time Now() const { return clock_->Now(); }
  int64_t NowMs() const { return absl::ToUnixMillis(clock_->Now()); }

  absl::Mutex mu;

 private:
  absl::Status WipeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void ForgetDeviceSecret() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Before the store is closed: waits (releasing mu) for a running
  // CommitStore or outside reader, which use the store without mu.
  void AwaitNoCommit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Null while locked (and after deletion).
  std::unique_ptr<storage::LocalStore> store_ ABSL_PT_GUARDED_BY(mu);
  std::unique_ptr<signal::Engine> engine_ ABSL_PT_GUARDED_BY(mu);
  Profile profile_;
  transport::Connection connection_;
  const std::shared_ptr<const Clock> clock_;
  bool read_receipts_ ABSL_GUARDED_BY(mu);
  absl::Time alone_since_ ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  // Where Unlock reopens the store; empty for an app-provided store (which
  // is never locked).
  std::string profile_dir_ ABSL_GUARDED_BY(mu);
  absl::Duration auto_lock_after_ ABSL_GUARDED_BY(mu) = absl::InfiniteDuration();
  // auto_lock_after_ in ms (0: off) and the last call, read by Listen's
  // watchdog without mu.
  std::atomic<int64_t> auto_lock_ms_{0};
  std::atomic<int64_t> last_activity_ms_;
  bool locked_ ABSL_GUARDED_BY(mu) = false;
  // Set once DeleteAccount succeeded on the server: the Client is finished.
  bool deleted_ ABSL_GUARDED_BY(mu) = false;
  std::atomic<bool> deleted_flag_{false};
  // The commit queue: callers take tickets in order; a sync that began
  // after ticket t was taken covers every ticket up to t. `committing_`
  // while one caller syncs without mu.
  uint64_t commit_tickets_ ABSL_GUARDED_BY(mu) = 0;
  uint64_t committed_ ABSL_GUARDED_BY(mu) = 0;
  absl::Status commit_status_ ABSL_GUARDED_BY(mu);
  bool committing_ ABSL_GUARDED_BY(mu) = false;
  int outside_readers_ ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace sotto::client

#endif  // SOTTO_CLIENT_LIB_PROFILE_PROFILE_SESSION_H_
