#include "run.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"

#ifndef SOTTO_VERSION
#error "SOTTO_VERSION is set by cli/CMakeLists.txt from the CMake project version"
#endif

namespace sotto::cli {

void ConfigureApp(CLI::App& app) {
  app.description(
      "sotto — end-to-end encrypted messages between you and your therapist.\n"
      "The passphrase comes from SOTTO_PASSPHRASE or a prompt.\n"
      "WHEN is +2h, +30m, +1d, 09:00, \"tomorrow 09:00\", \"2026-12-01 09:00\" (local time)\n"
      "or RFC 3339; a DURATION is 2h, 90m, 1d or 1h30m.");
  app.set_version_flag("--version", absl::StrCat("sotto ", SOTTO_VERSION),
                       "Print the version and exit");
  app.name("sotto");
  app.require_subcommand(1);
}

void RegisterCommands(CLI::App& app, Context& context) {
  RegisterAccountCommands(app, context);
  RegisterIdentityCommands(app, context);
  RegisterMessageCommands(app, context);
  RegisterCareCommands(app, context);
  RegisterQueueCommands(app, context);
  RegisterNotifyCommands(app, context);
  RegisterDeskDataCommands(app, context);
  RegisterRecordCommands(app, context);
  RegisterBackupCommands(app, context);
  RegisterDeviceCommands(app, context);
  RegisterSessionCommands(app, context);
}

int ParseAndRun(CLI::App& app, Context& context, std::vector<std::string> args,
                const std::function<std::optional<int>()>& before_run) {
  // CLI11 takes a vector last argument first.
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, Out(), Err());  // --help, --version
    if (app.get_subcommands().empty()) {
      // CLI11 says "A subcommand is required" even for a typo; name the typo.
      const std::vector<std::string> rest = app.remaining();
      return Fail(absl::InvalidArgumentError(
          rest.empty() ? std::string("which command? see sotto --help")
                       : absl::StrCat("unknown command \"", rest.front(), "\"; see sotto --help")));
    }
    return Fail(absl::InvalidArgumentError(e.what()));
  }
  if (before_run) {
    if (std::optional<int> code = before_run()) return *code;
  }
  absl::Status s = context.RunAction();
  if (s.ok()) return 0;
  if (Caller* caller = CurrentCaller(); caller != nullptr && caller->locked) return kExitLocked;
  return Fail(s, context.verbose());
}

}  // namespace sotto::cli
