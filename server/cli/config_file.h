#ifndef SOTTO_SERVER_CLI_CONFIG_FILE_H_
#define SOTTO_SERVER_CLI_CONFIG_FILE_H_

// sotto-server's config file: TOML whose keys are the serving flags'
// names without "--", so that every flag, today's and tomorrow's, is
// settable there with no code per flag:
//
//   listen = "0.0.0.0:7443"          # --listen
//   io-threads = 32                  # --io-threads
//   [rate]                           # a table prefixes its keys: this is
//   sends = "600/3600"               #   --rate-sends
//
// A flag given on the command line wins over the file. Types follow the
// flag: text flags take strings, number flags integers (or floats where
// the flag takes a fraction), on/off flags booleans; a flag that may be
// repeated takes an array. Unknown keys, wrong types and values the flag
// would refuse are errors naming the file, line and key.

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace sotto::server::cli {

// Sets, from the TOML file at `path`, every option of `app` (not of its
// subcommands) that the command line left unset, running the option's own
// checks (its range, say). Call after app.parse. INVALID_ARGUMENT with one
// line per error, each "PATH:LINE: key \"KEY\": WHAT", or the file's syntax
// error with its line and column; NOT_FOUND if the file cannot be read.
// Keys in `reserved` (e.g. "config") are refused as unknown.
absl::Status ApplyConfigFile(CLI::App& app, const std::string& path,
                             const std::vector<std::string>& reserved);

}  // namespace sotto::server::cli

#endif  // SOTTO_SERVER_CLI_CONFIG_FILE_H_
