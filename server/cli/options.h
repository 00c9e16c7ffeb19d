#ifndef SOTTO_SERVER_CLI_OPTIONS_H_
#define SOTTO_SERVER_CLI_OPTIONS_H_

// What every operator subcommand shares: the --data-dir option and the one
// line an error prints.

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sotto::server::cli {

// The required `--data-dir DIR` of an operator subcommand, into `*dir`.
void AddDataDirOption(CLI::App* command, std::string* dir);

// Prints "sotto-server COMMAND: MESSAGE" on stderr; returns 1, the exit
// status of a command that failed.
int Fail(absl::string_view command, const absl::Status& status);

}  // namespace sotto::server::cli

#endif  // SOTTO_SERVER_CLI_OPTIONS_H_
