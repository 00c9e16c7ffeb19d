// sotto-server enrol-therapist --data-dir DIR --name HANDLE [--valid-hours N] [--quiet]
//                              [--audit-key-file F] [--code-pepper-file F]
//
// prints
//   Enrolment code for HANDLE: CODE
//   Expires YYYY-MM-DD HH:MM UTC. The therapist registers with: sotto init --role therapist --name
//   HANDLE --enrol CODE --server HOST:PORT
// or, with --quiet, only CODE on one line. Errors: one line on stderr, exit 1.

#include <iostream>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct EnrolOptions {
  std::string data_dir;
  KeyFilePaths keys;
  std::string name;
  uint32_t valid_hours = 0;
  bool quiet = false;
};

int RunEnrol(const EnrolOptions& o) {
  absl::StatusOr<IssuedCode> code =
      OpenOperatorBackend(o.data_dir, o.keys)->IssueEnrolmentCode(o.name, o.valid_hours);
  if (!code.ok()) return Fail("enrol-therapist", code.status());
  if (o.quiet) {
    std::cout << code->code << std::endl;
    return 0;
  }
  std::cout << "Enrolment code for " << o.name << ": " << code->code << "\n"
            << "Expires "
            << absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(code->expires_at_ms),
                                absl::UTCTimeZone())
            << ". The therapist registers with: sotto init --role therapist --name " << o.name
            << " --enrol " << code->code << " --server HOST:PORT" << std::endl;
  return 0;
}

}  // namespace

Subcommand AddEnrolCommand(CLI::App& app) {
  auto o = std::make_shared<EnrolOptions>();
  CLI::App* cmd = app.add_subcommand("enrol-therapist",
                                     "print a one-time enrolment code for a therapist's handle");
  AddDataDirOption(cmd, &o->data_dir);
  AddKeyFileOptions(cmd, &o->keys);
  cmd->add_option("--name", o->name, "the handle the therapist will register")->required();
  cmd->add_option("--valid-hours", o->valid_hours, "validity (default 168, at most 720)");
  cmd->add_flag("--quiet", o->quiet, "print only the code");
  return {cmd, [o] { return RunEnrol(*o); }};
}

}  // namespace sotto::server::cli
