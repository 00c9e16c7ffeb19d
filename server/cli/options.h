#ifndef SOTTO_SERVER_CLI_OPTIONS_H_
#define SOTTO_SERVER_CLI_OPTIONS_H_

// What every operator subcommand shares: the --data-dir option, the key
// file options, and the one line an error prints.

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/app/key_files.h"

namespace sotto::server::cli {

// The required `--data-dir DIR` of an operator subcommand, into `*dir`.
void AddDataDirOption(CLI::App* command, std::string* dir);

// --audit-key-file and --code-pepper-file into `*keys` (key_files.h):
// where the key files are if not beside the data directory. The server and
// every command that may open the database must be given the same paths.
void AddKeyFileOptions(CLI::App* command, KeyFilePaths* keys);

// Prints "sotto-server COMMAND: MESSAGE" on stderr; returns 1, the exit
// status of a command that failed.
int Fail(absl::string_view command, const absl::Status& status);

}  // namespace sotto::server::cli

#endif  // SOTTO_SERVER_CLI_OPTIONS_H_
