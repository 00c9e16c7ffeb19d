// The C API (sotto/sotto.h), part 7: automatic backups (issue 16,
// docs/BACKUP.md "Automatic backups").

#include <string>

#include "client-lib/capi/capi_internal.h"
#include "client-lib/storage/wipe.h"
#include "sotto/backup.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

extern "C" {

int sotto_set_auto_backup(sotto_client* client, const char* dir, int64_t every_seconds, int keep,
                          int new_recovery_key, char** recovery_key, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(recovery_key, "recovery_key"));
    *recovery_key = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(absl::string_view where, Text(dir, "dir"));
    sotto::AutoBackupOptions options;
    options.dir = std::string(where);
    options.every = absl::Seconds(every_seconds);
    options.keep = keep;
    options.new_recovery_key = new_recovery_key != 0;
    SOTTO_ASSIGN_OR_RETURN(sotto::AutoBackupSetup setup, c->SetAutoBackup(options));
    if (setup.recovery_key.empty()) return absl::OkStatus();
    *recovery_key = CopyString(setup.recovery_key);
    sotto::client::storage::Wipe(setup.recovery_key);
    if (*recovery_key == nullptr) return absl::ResourceExhaustedError("out of memory");
    return absl::OkStatus();
  });
}

int sotto_disable_auto_backup(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    return c->DisableAutoBackup();
  });
}

int sotto_backup_if_due(sotto_client* client, char** path, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(path, "path"));
    *path = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(std::string written, c->BackUpIfDue());
    *path = CopyString(written);
    if (*path == nullptr) return absl::ResourceExhaustedError("out of memory");
    return absl::OkStatus();
  });
}

}  // extern "C"
