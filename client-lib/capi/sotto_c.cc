// The C API (sotto/sotto.h), part 1: version, status and memory, opening
// and closing a client, locking, the passphrase and the account. Messages
// are in messages.cc, receiving in listen.cc, the care calls in care.cc.

#include <cstdlib>
#include <cstring>

#include "client-lib/capi/capi_internal.h"
#include "client-lib/storage/wipe.h"
#include "sotto/backup.h"
#include "sotto/passphrase.h"

namespace sotto::capi {

char* CopyString(absl::string_view s) {
  char* copy = static_cast<char*>(std::malloc(s.size() + 1));
  if (copy == nullptr) return nullptr;
  if (!s.empty()) std::memcpy(copy, s.data(), s.size());
  copy[s.size()] = '\0';
  return copy;
}

int Report(const char* function, const absl::Status& status, char** errmsg) {
  if (status.ok()) return SOTTO_OK;
  if (errmsg != nullptr) *errmsg = CopyString(absl::StrCat(function, ": ", status.message()));
  return static_cast<int>(status.code());
}

absl::Status NotNull(const void* p, absl::string_view name) {
  if (p != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " is NULL"));
}

absl::StatusOr<absl::string_view> Bytes(const char* p, size_t len, absl::string_view name) {
  if (p == nullptr) {
    if (len == 0) return absl::string_view();
    return absl::InvalidArgumentError(absl::StrCat(name, " is NULL but its length is ", len));
  }
  return absl::string_view(p, len);
}

absl::StatusOr<absl::string_view> Text(const char* p, absl::string_view name) {
  SOTTO_RETURN_IF_ERROR(NotNull(p, name));
  return absl::string_view(p);
}

absl::StatusOr<sotto::Client*> ClientOf(sotto_client* handle) {
  if (handle == nullptr || handle->client == nullptr) {
    return absl::InvalidArgumentError("client is NULL");
  }
  return handle->client.get();
}

absl::Time DeliverAt(int64_t ms) {
  return ms <= 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms);
}

absl::Duration MillisOr(int64_t ms, absl::Duration none) {
  return ms <= 0 ? none : absl::Milliseconds(ms);
}

absl::Status Adopt(absl::StatusOr<std::unique_ptr<sotto::Client>> opened, sotto_client** out) {
  if (!opened.ok()) return opened.status();
  auto handle = std::make_unique<sotto_client>();
  handle->client = std::move(*opened);
  *out = handle.release();
  return absl::OkStatus();
}

namespace {

std::string OrEmpty(const char* s) { return s == nullptr ? std::string() : std::string(s); }

}  // namespace
}  // namespace sotto::capi

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

extern "C" {

const char* sotto_version(void) {
#define SOTTO_STR2(x) #x
#define SOTTO_STR(x) SOTTO_STR2(x)
  return SOTTO_STR(SOTTO_VERSION_MAJOR) "." SOTTO_STR(SOTTO_VERSION_MINOR) "." SOTTO_STR(
      SOTTO_VERSION_PATCH);
#undef SOTTO_STR
#undef SOTTO_STR2
}

const char* sotto_status_name(int status) {
  static const char* const kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (status < 0 || status >= static_cast<int>(sizeof kNames / sizeof kNames[0])) {
    return "UNKNOWN_CODE";
  }
  return kNames[status];
}

void sotto_free_string(char* s) {
  // Some of these strings are secrets (a recovery key, a message's text):
  // none is left in freed memory for the next allocation to find.
  if (s == nullptr) return;
  ::explicit_bzero(s, std::strlen(s));
  std::free(s);
}

// ---- options ----

sotto_register_options* sotto_register_options_create(void) {
  return new (std::nothrow) sotto_register_options();
}
void sotto_register_options_destroy(sotto_register_options* o) { delete o; }

#define SOTTO_SETTER(type, name, field)                  \
  void type##_set_##name(type* o, const char* value) {   \
    if (o != nullptr) o->options.field = OrEmpty(value); \
  }
SOTTO_SETTER(sotto_register_options, profile_dir, profile_dir)
SOTTO_SETTER(sotto_register_options, server_address, server_address)
SOTTO_SETTER(sotto_register_options, tls_ca_pem, tls_ca_pem)
SOTTO_SETTER(sotto_register_options, tls_crl_pem, tls_crl_pem)
SOTTO_SETTER(sotto_register_options, handle, handle)
SOTTO_SETTER(sotto_register_options, enrolment_code, enrolment_code)
SOTTO_SETTER(sotto_register_options, invite_code, invite_code)
SOTTO_SETTER(sotto_open_options, profile_dir, profile_dir)
SOTTO_SETTER(sotto_open_options, server_address, server_address)
SOTTO_SETTER(sotto_open_options, tls_ca_pem, tls_ca_pem)
SOTTO_SETTER(sotto_open_options, tls_crl_pem, tls_crl_pem)
#undef SOTTO_SETTER

void sotto_register_options_set_tls_system_roots(sotto_register_options* o, int on) {
  if (o != nullptr) o->options.tls_system_roots = on != 0;
}
void sotto_register_options_set_auto_lock_after_ms(sotto_register_options* o, int64_t ms) {
  if (o != nullptr) o->options.auto_lock_after = MillisOr(ms, absl::InfiniteDuration());
}
void sotto_register_options_set_role(sotto_register_options* o, int role) {
  // An unknown role is passed on as is: Register refuses it by name.
  if (o != nullptr) o->options.role = static_cast<sotto::Role>(role);
}
void sotto_register_options_set_passphrase(sotto_register_options* o, const char* passphrase,
                                           size_t len) {
  if (o == nullptr) return;
  o->options.passphrase = passphrase == nullptr ? std::string() : std::string(passphrase, len);
}
void sotto_register_options_set_fast_key_derivation_for_tests(sotto_register_options* o, int on) {
  if (o == nullptr) return;
  o->options.key_derivation =
      on != 0 ? sotto::KeyDerivation::kFastForTestsOnly : sotto::KeyDerivation::kInteractive;
}

sotto_open_options* sotto_open_options_create(void) {
  return new (std::nothrow) sotto_open_options();
}
void sotto_open_options_destroy(sotto_open_options* o) { delete o; }
void sotto_open_options_set_passphrase(sotto_open_options* o, const char* passphrase, size_t len) {
  if (o == nullptr) return;
  o->options.passphrase = passphrase == nullptr ? std::string() : std::string(passphrase, len);
}
void sotto_open_options_set_tls_system_roots(sotto_open_options* o, int on) {
  if (o != nullptr) o->options.tls_system_roots = on != 0;
}
void sotto_open_options_set_auto_lock_after_ms(sotto_open_options* o, int64_t ms) {
  if (o != nullptr) o->options.auto_lock_after = MillisOr(ms, absl::InfiniteDuration());
}

// ---- lifecycle ----

int sotto_client_register(const sotto_register_options* options, sotto_client** out,
                          char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_RETURN_IF_ERROR(NotNull(options, "options"));
    const sotto::Role role = options->options.role;
    if (role != sotto::Role::kClient && role != sotto::Role::kTherapist) {
      return absl::InvalidArgumentError(
          absl::StrCat("role ", static_cast<int>(role),
                       " is neither SOTTO_ROLE_CLIENT (1) nor SOTTO_ROLE_THERAPIST (2)"));
    }
    return Adopt(sotto::Client::Register(options->options), out);
  });
}

int sotto_client_open(const sotto_open_options* options, sotto_client** out, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    SOTTO_RETURN_IF_ERROR(NotNull(options, "options"));
    return Adopt(sotto::Client::Open(options->options), out);
  });
}

void sotto_client_close(sotto_client* client) {
  if (client == nullptr) return;
  // A listen on another thread uses the client until it returns.
  sotto_stop_listening(client, nullptr);
  try {
    delete client;
  } catch (...) {
    // Nothing to report to: a destructor that throws is a bug; not across C.
  }
}

const char* sotto_client_handle(const sotto_client* c) {
  return c == nullptr || c->client == nullptr ? nullptr : c->client->handle().c_str();
}
uint32_t sotto_client_device_id(const sotto_client* c) {
  return c == nullptr || c->client == nullptr ? 0 : c->client->device_id();
}
sotto_role sotto_client_role(const sotto_client* c) {
  return c == nullptr || c->client == nullptr ? static_cast<sotto_role>(0)
                                              : static_cast<sotto_role>(c->client->role());
}
const char* sotto_client_server_address(const sotto_client* c) {
  return c == nullptr || c->client == nullptr ? nullptr : c->client->server_address().c_str();
}

// ---- locking ----

int sotto_client_lock(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->Lock();
  });
}

int sotto_client_unlock(sotto_client* client, const char* passphrase, size_t len, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view p, Bytes(passphrase, len, "passphrase"));
    return c->Unlock(p);
  });
}

int sotto_client_is_locked(sotto_client* client, int* locked, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_RETURN_IF_ERROR(NotNull(locked, "locked"));
    *locked = c->IsLocked() ? 1 : 0;
    return absl::OkStatus();
  });
}

int sotto_client_note_activity(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->NoteActivity();
  });
}

namespace {
// The scopes sotto_background_calls_begin opened on this thread.
thread_local std::vector<std::unique_ptr<sotto::Client::BackgroundCalls>> background_scopes;
}  // namespace

void sotto_background_calls_begin(void) {
  background_scopes.push_back(std::make_unique<sotto::Client::BackgroundCalls>());
}

void sotto_background_calls_end(void) {
  if (!background_scopes.empty()) background_scopes.pop_back();
}

// ---- passphrase and account ----

int sotto_check_passphrase_strength(const char* passphrase, size_t len,
                                    const char* const* user_inputs, size_t n, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(absl::string_view p, Bytes(passphrase, len, "passphrase"));
    if (user_inputs == nullptr && n != 0) {
      return absl::InvalidArgumentError(absl::StrCat("user_inputs is NULL but n is ", n));
    }
    std::vector<std::string> inputs;
    for (size_t i = 0; i < n; ++i) {
      SOTTO_RETURN_IF_ERROR(NotNull(user_inputs[i], absl::StrCat("user_inputs[", i, "]")));
      inputs.emplace_back(user_inputs[i]);
    }
    return sotto::CheckPassphraseStrength(p, inputs);
  });
}

int sotto_change_passphrase(sotto_client* client, const char* old_passphrase, size_t old_len,
                            const char* new_passphrase, size_t new_len, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view old_p,
                           Bytes(old_passphrase, old_len, "old_passphrase"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view new_p,
                           Bytes(new_passphrase, new_len, "new_passphrase"));
    return c->ChangePassphrase(old_p, new_p);
  });
}

int sotto_delete_account(sotto_client* client, const char* confirm_handle, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view confirm, Text(confirm_handle, "confirm_handle"));
    return c->DeleteAccount(confirm);
  });
}

int sotto_backup(sotto_client* client, const char* out_path, char** recovery_key, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(recovery_key, "recovery_key"));
    *recovery_key = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    sotto::BackupOptions options;
    SOTTO_ASSIGN_OR_RETURN(absl::string_view path, Text(out_path, "out_path"));
    options.out_path = std::string(path);
    SOTTO_ASSIGN_OR_RETURN(sotto::BackupResult made, c->Backup(options));
    *recovery_key = CopyString(made.recovery_key);
    sotto::client::storage::Wipe(made.recovery_key);
    if (*recovery_key == nullptr) return absl::ResourceExhaustedError("out of memory");
    return absl::OkStatus();
  });
}

int sotto_restore(const char* backup_path, const char* recovery_key, const char* profile_dir,
                  const char* passphrase, size_t passphrase_len, int fast_key_derivation_for_tests,
                  sotto_client** out, char** errmsg) {
  return sotto_restore2(backup_path, recovery_key, profile_dir, passphrase, passphrase_len,
                        fast_key_derivation_for_tests, out, nullptr, errmsg);
}

int sotto_restore2(const char* backup_path, const char* recovery_key, const char* profile_dir,
                   const char* passphrase, size_t passphrase_len, int fast_key_derivation_for_tests,
                   sotto_client** out, char** network_error, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (network_error != nullptr) *network_error = nullptr;
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    sotto::RestoreOptions options;
    SOTTO_ASSIGN_OR_RETURN(absl::string_view path, Text(backup_path, "backup_path"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view key, Text(recovery_key, "recovery_key"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view dir, Text(profile_dir, "profile_dir"));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view pass, Bytes(passphrase, passphrase_len, "passphrase"));
    options.backup_path = std::string(path);
    options.recovery_key = std::string(key);
    options.profile_dir = std::string(dir);
    options.passphrase = std::string(pass);
    if (fast_key_derivation_for_tests) {
      options.key_derivation = sotto::KeyDerivation::kFastForTestsOnly;
    }
    absl::StatusOr<sotto::RestoreResult> restored = sotto::Client::Restore(options);
    sotto::client::storage::Wipe(options.passphrase);
    sotto::client::storage::Wipe(options.recovery_key);
    if (!restored.ok()) return restored.status();
    if (network_error != nullptr && !restored->network_status.ok()) {
      *network_error = CopyString(restored->network_status.message());
      if (*network_error == nullptr) return absl::ResourceExhaustedError("out of memory");
    }
    return Adopt(std::move(restored->client), out);
  });
}

}  // extern "C"
