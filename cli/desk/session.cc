#include "session.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "secret.h"
#include "sotto/backup.h"
#include "sotto/devices.h"
#include "sotto/passphrase.h"

namespace sotto::desk {

const char* DeskStateName(DeskState state) {
  switch (state) {
    case DeskState::kSetup:
      return "setup";
    case DeskState::kLocked:
      return "locked";
    case DeskState::kOpen:
      return "open";
  }
  return "locked";
}

Session::Session(DeskOptions options) : options_(std::move(options)) {}

Session::~Session() { cli::Wipe(options_.passphrase); }

absl::Status Session::OpenWith(const std::string& passphrase) {
  OpenOptions open;
  open.profile_dir = options_.profile_dir;
  open.passphrase = passphrase;
  cli::WipeOnExit wipe(open.passphrase);
  open.tls_ca_pem = options_.tls_ca_pem;
  open.tls_system_roots = options_.tls_system_roots;
  open.tls_crl_pem = options_.tls_crl_pem;
  open.auto_lock_after = options_.auto_lock_after;
  absl::StatusOr<std::unique_ptr<Client>> opened = Client::Open(open);
  if (!opened.ok()) return opened.status();
  client_ = *std::move(opened);
  ReloadSettings();
  return absl::OkStatus();
}

void Session::Adopt(std::unique_ptr<Client> client) {
  client_ = std::move(client);
  setup_ = false;
  ReloadSettings();
}

void Session::ReloadSettings() {
  if (absl::StatusOr<bool> receipts = client_->ReadReceipts(); receipts.ok()) {
    read_receipts_ = *receipts;
  }
}

absl::Status Session::Start() {
  absl::Status s = StartLocked();
  if (s.ok()) NotifyFirstOpen();
  return s;
}

absl::Status Session::StartLocked() {
  absl::MutexLock lock(&mu_);
  std::string passphrase = std::move(options_.passphrase);
  cli::WipeOnExit wipe(passphrase);
  if (passphrase.empty()) {
    // Without a passphrase nothing can be opened; whether there is something
    // to open is whether the directory holds a store (RocksDB's CURRENT, as
    // the library's EncryptedStoreExists looks), and asking Client::Open
    // would stretch a wrong passphrase for nothing.
    std::error_code ec;
    setup_ = !std::filesystem::exists(std::filesystem::path(options_.profile_dir) / "CURRENT", ec);
    return absl::OkStatus();
  }
  absl::Status s = OpenWith(passphrase);
  if (absl::IsNotFound(s)) {
    setup_ = true;
    return absl::OkStatus();
  }
  return s;
}

DeskState Session::state() {
  absl::MutexLock lock(&mu_);
  if (setup_) return DeskState::kSetup;
  if (client_ == nullptr || client_->IsLocked()) return DeskState::kLocked;
  return DeskState::kOpen;
}

absl::StatusOr<Client*> Session::OpenClient() {
  absl::MutexLock lock(&mu_);
  if (setup_) return absl::FailedPreconditionError("no profile yet: join with an invite first");
  if (client_ == nullptr || client_->IsLocked()) return absl::FailedPreconditionError("locked");
  return client_.get();
}

Client* Session::client() {
  absl::MutexLock lock(&mu_);
  return client_.get();
}

absl::Status Session::Unlock(const std::string& passphrase) {
  {
    absl::MutexLock lock(&mu_);
    if (setup_) return absl::FailedPreconditionError("no profile yet: join with an invite first");
    if (passphrase.empty()) return absl::InvalidArgumentError("the passphrase is empty");
    absl::Status s = client_ == nullptr ? OpenWith(passphrase) : client_->Unlock(passphrase);
    if (absl::IsPermissionDenied(s)) return absl::UnauthenticatedError("wrong passphrase");
    if (!s.ok()) return s;
    ReloadSettings();
  }
  Changed();
  return absl::OkStatus();
}

absl::Status Session::Lock() {
  {
    absl::MutexLock lock(&mu_);
    if (client_ == nullptr) return absl::OkStatus();
    if (absl::Status s = client_->Lock(); !s.ok()) return s;
  }
  Changed();
  return absl::OkStatus();
}

namespace {

// As `sotto init` (cli/commands/account.cc), including its escape hatch for
// throwaway test profiles.
absl::Status CheckNewPassphrase(const std::string& passphrase, const std::string& handle,
                                absl::string_view consequence) {
  if (passphrase.empty()) return absl::InvalidArgumentError("the new passphrase is empty");
  if (const char* allow = std::getenv("SOTTO_ALLOW_WEAK_PASSPHRASE");
      allow != nullptr && std::strcmp(allow, "1") == 0) {
    return absl::OkStatus();
  }
  const std::string words[] = {handle, "sotto"};
  absl::Status s = CheckPassphraseStrength(passphrase, words);
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(s.message(), "; ", consequence));
}

}  // namespace

absl::Status Session::Setup(const SetupRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    if (!setup_) return absl::FailedPreconditionError("this desk already has a profile");
    if (request.invite_code.empty()) {
      return absl::InvalidArgumentError("the invite code from your therapist is missing");
    }
    if (absl::Status s =
            CheckNewPassphrase(request.passphrase, request.handle, "no profile was created");
        !s.ok()) {
      return s;
    }
    RegisterOptions options;
    options.profile_dir = options_.profile_dir;
    options.server_address = request.server;
    options.handle = request.handle;
    options.role = Role::kClient;
    options.passphrase = request.passphrase;
    cli::WipeOnExit wipe(options.passphrase);
    options.invite_code = request.invite_code;
    options.tls_ca_pem = options_.tls_ca_pem;
    options.tls_system_roots = options_.tls_system_roots;
    options.tls_crl_pem = options_.tls_crl_pem;
    options.auto_lock_after = options_.auto_lock_after;
    options.key_derivation = options_.key_derivation;
    absl::StatusOr<std::unique_ptr<Client>> registered = Client::Register(options);
    if (!registered.ok()) return registered.status();
    Adopt(*std::move(registered));
  }
  Changed();
  return absl::OkStatus();
}

absl::Status Session::Join(const JoinRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    if (!setup_) return absl::FailedPreconditionError("this desk already has a profile");
    if (request.code.empty()) {
      return absl::InvalidArgumentError("the link code from your other device is missing");
    }
    if (absl::Status s = CheckNewPassphrase(request.passphrase, "", "no profile was created");
        !s.ok()) {
      return s;
    }
    JoinOptions options;
    options.code = request.code;
    options.device_name = request.device_name;
    options.profile_dir = options_.profile_dir;
    options.passphrase = request.passphrase;
    cli::WipeOnExit wipe(options.passphrase);
    options.server_address = request.server;
    options.tls_ca_pem = options_.tls_ca_pem;
    options.tls_system_roots = options_.tls_system_roots;
    options.auto_lock_after = options_.auto_lock_after;
    options.key_derivation = options_.key_derivation;
    absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(options);
    if (!joined.ok()) return joined.status();
    Adopt(std::move(joined->client));
  }
  Changed();
  return absl::OkStatus();
}

absl::Status Session::Restore(const RestoreRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    if (!setup_) return absl::FailedPreconditionError("this desk already has a profile");
    if (absl::Status s = CheckNewPassphrase(request.passphrase, "", "nothing was restored");
        !s.ok()) {
      return s;
    }
    RestoreOptions options;
    options.backup_path = request.backup_path;
    options.recovery_key = request.recovery_key;
    cli::WipeOnExit wipe_key(options.recovery_key);
    options.profile_dir = options_.profile_dir;
    options.passphrase = request.passphrase;
    cli::WipeOnExit wipe(options.passphrase);
    options.key_derivation = options_.key_derivation;
    options.server_address = request.server;
    options.tls_ca_pem = options_.tls_ca_pem;
    options.tls_system_roots = options_.tls_system_roots;
    options.auto_lock_after = options_.auto_lock_after;
    absl::StatusOr<RestoreResult> restored = Client::Restore(options);
    if (!restored.ok()) return restored.status();
    Adopt(std::move(restored->client));
  }
  Changed();
  return absl::OkStatus();
}

absl::Status Session::ChangePassphrase(const std::string& old_passphrase,
                                       const std::string& new_passphrase) {
  absl::StatusOr<Client*> client = OpenClient();
  if (!client.ok()) return client.status();
  if (absl::Status s =
          CheckNewPassphrase(new_passphrase, (*client)->handle(), "the passphrase was not changed");
      !s.ok()) {
    return s;
  }
  return (*client)->ChangePassphrase(old_passphrase, new_passphrase);
}

bool Session::read_receipts() {
  absl::MutexLock lock(&mu_);
  return read_receipts_;
}

absl::Status Session::SetReadReceipts(bool enabled) {
  absl::StatusOr<Client*> client = OpenClient();
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->SetReadReceipts(enabled); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  read_receipts_ = enabled;
  return absl::OkStatus();
}

void Session::RefreshSettings() {
  absl::MutexLock lock(&mu_);
  if (client_ == nullptr || setup_ || client_->IsLocked()) return;
  ReloadSettings();
}

void Session::set_on_change(std::function<void(DeskState)> on_change) {
  absl::MutexLock lock(&mu_);
  on_change_ = std::move(on_change);
}

void Session::NotifyFirstOpen() {
  std::function<void(Session&, Client*)> told;
  Client* client = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (first_open_told_ || client_ == nullptr || client_->IsLocked()) return;
    first_open_told_ = true;
    told = options_.on_first_open;
    client = client_.get();
  }
  if (told) told(*this, client);
}

void Session::Changed() {
  NotifyFirstOpen();
  std::function<void(DeskState)> on_change;
  {
    absl::MutexLock lock(&mu_);
    on_change = on_change_;
  }
  if (on_change) on_change(state());
}

}  // namespace sotto::desk
