#ifndef SOTTO_CLI_TERMINAL_H_
#define SOTTO_CLI_TERMINAL_H_

// The `sotto` command's dealings with the person at the terminal: the
// passphrase, and message bodies from stdin or an editor.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "io.h"  // StdinIsTerminal

namespace sotto::cli {

// The passphrase from SOTTO_PASSPHRASE, else asked on /dev/tty without echo
// (twice when `confirm`). Never from argv, where `ps` would show it. The
// variable is taken out of the environment (secret.h: overwritten, unset),
// so a second call asks the terminal; copies made on the way are wiped. The
// caller wipes the result once used (Wipe, WipeOnExit).
absl::StatusOr<std::string> Passphrase(bool confirm);
// A new passphrase (`sotto passwd`): SOTTO_NEW_PASSPHRASE (taken out of the
// environment as above), or asked twice.
absl::StatusOr<std::string> NewPassphrase();

// A recovery key (`sotto restore`), asked on /dev/tty without echo.
absl::StatusOr<std::string> AskRecoveryKey();

// All of stdin.
std::string ReadStdin();

// Opens $EDITOR (else vi) on an empty file and returns what was saved. The
// file lives in a private 0700 directory (on /dev/shm when there is one, so
// the plaintext never reaches a disk); it and anything the editor left beside
// it (swap and backup files) are overwritten and removed before returning,
// also on failure.
absl::StatusOr<std::string> ComposeInEditor();

// Writes `body` to a new owner-only file in a private 0700 directory (on
// /dev/shm when there is one, as ComposeInEditor) and returns its path: a
// letter the server refused is not lost.
absl::StatusOr<std::string> SaveDraft(absl::string_view body);

// Drops trailing newlines and spaces (`echo` and editors add them); the body
// keeps its inner line breaks.
std::string TrimTrailing(std::string body);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_TERMINAL_H_
