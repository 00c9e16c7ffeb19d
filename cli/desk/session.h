#ifndef SOTTO_CLI_DESK_SESSION_H_
#define SOTTO_CLI_DESK_SESSION_H_

// The desk's one sotto::Client and the page's three states (docs/DESK.md):
//   setup   the profile directory holds no profile yet: the page offers
//           "join with an invite" (Setup);
//   locked  a profile exists but is not open — no passphrase at start, Lock,
//           or the Client's own idle auto-lock — (Unlock);
//   open    everything else.
// The Client is created once (Open at start or first Unlock, or Setup) and
// kept until the desk ends; locking uses Client::Lock/Unlock, so the keys
// leave memory and the auto-lock timer is the library's, not ours.
// Thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sotto/client.h"

namespace sotto::desk {

class Session;

struct DeskOptions {
  std::string profile_dir;
  // 0: the system picks one.
  int port = 0;
  // Opens the profile at start; empty: start locked (or in setup).
  std::string passphrase;
  // The TLS overrides of the command line (as OpenOptions / RegisterOptions).
  std::string tls_ca_pem;
  bool tls_system_roots = false;
  std::string tls_crl_pem;
  absl::Duration auto_lock_after = absl::Minutes(15);
  // For a profile made by POST /api/setup; tests use the fast one.
  KeyDerivation key_derivation = KeyDerivation::kInteractive;
  // Called once, when the profile is first open (at start, or at the first
  // unlock or setup), with the Client the desk keeps for its life, on the
  // thread that opened it: `sotto desk` starts the agent socket there.
  // The Session is passed too: the agent's lock and unlock go through it,
  // so the page hears of them.
  std::function<void(Session&, Client*)> on_first_open;
};

enum class DeskState { kSetup, kLocked, kOpen };
const char* DeskStateName(DeskState state);

// What POST /api/setup carries: a client joining with an invite.
struct SetupRequest {
  std::string server;
  std::string handle;
  std::string passphrase;
  std::string invite_code;
};

// What POST /api/setup/join carries: this desk joining an existing account
// as a new device, with the code another device of it shows (as `sotto init
// --link`).
struct JoinRequest {
  std::string server;
  std::string code;
  std::string device_name;
  std::string passphrase;
};

// What POST /api/setup/restore carries: a backup made by `sotto backup` or
// automatic backups, brought back into this desk's (empty) profile directory.
struct RestoreRequest {
  std::string backup_path;
  std::string recovery_key;
  std::string passphrase;
  std::string server;  // empty: the one recorded in the backup
};

class Session {
 public:
  explicit Session(DeskOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  // Opens the profile with the start passphrase, if any (and wipes it).
  // Without one: locked when a profile exists, setup when none does. A wrong
  // start passphrase is an error (the terminal user retries).
  absl::Status Start();

  DeskState state();
  // The open Client; FAILED_PRECONDITION "locked" (or "no profile yet")
  // otherwise. The pointer stays valid for the Session's life.
  absl::StatusOr<Client*> OpenClient();
  // The Client once one exists (open or locked); null in setup.
  Client* client();

  // PERMISSION_DENIED "wrong passphrase"; FAILED_PRECONDITION in setup.
  absl::Status Unlock(const std::string& passphrase);
  // OK also when locked already.
  absl::Status Lock();
  // Registers a client with an invite (as `sotto init --role client
  // --invite`); FAILED_PRECONDITION unless in setup. The passphrase must
  // pass the strength policy (sotto/passphrase.h).
  absl::Status Setup(const SetupRequest& request);

  // Joins an existing account as a new device (Client::JoinWithLinkCode);
  // FAILED_PRECONDITION unless in setup; the passphrase as for Setup.
  // Blocks until the other device answered (it polls every half second).
  absl::Status Join(const JoinRequest& request);

  // Restores a backup (Client::Restore, as `sotto restore`); FAILED_PRECONDITION
  // unless in setup; the passphrase as for Setup.
  absl::Status Restore(const RestoreRequest& request);

  // Client::ChangePassphrase after the strength check of Setup.
  absl::Status ChangePassphrase(const std::string& old_passphrase,
                                const std::string& new_passphrase);

  // Read receipts as last read or set here: GET /api/state must not count as
  // a call to the Client, or a page left open would never auto-lock.
  bool read_receipts();
  absl::Status SetReadReceipts(bool enabled);
  // Reads the settings cached above again from the Client, when open (after
  // a command the agent socket ran: it may have changed them).
  void RefreshSettings();

  const DeskOptions& options() const { return options_; }

  // Called after every change of state (from the thread that made it), e.g.
  // to restart the listener and tell the pages.
  void set_on_change(std::function<void(DeskState)> on_change);

 private:
  absl::Status StartLocked();
  absl::Status OpenWith(const std::string& passphrase) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The profile a setup (invite, link code, backup) made becomes this
  // desk's; the setup page is done.
  void Adopt(std::unique_ptr<Client> client) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // read_receipts_ as the open profile has it.
  void ReloadSettings() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed();
  void NotifyFirstOpen();

  DeskOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<Client> client_ ABSL_GUARDED_BY(mu_);
  bool setup_ ABSL_GUARDED_BY(mu_) = false;
  bool read_receipts_ ABSL_GUARDED_BY(mu_) = true;
  std::function<void(DeskState)> on_change_ ABSL_GUARDED_BY(mu_);
  bool first_open_told_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sotto::desk

#endif  // SOTTO_CLI_DESK_SESSION_H_
