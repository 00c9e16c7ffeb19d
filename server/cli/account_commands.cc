// sotto-server deactivate|reactivate --data-dir DIR --name HANDLE
//                                    [--audit-key-file F]
//
// turns an account off (it cannot authenticate; Sends to it fail) or on
// again. Prints "HANDLE deactivated" / "HANDLE reactivated"; errors: one line
// on stderr, exit 1.

#include <iostream>
#include <memory>
#include <string>

#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct AccountOptions {
  std::string data_dir;
  KeyFilePaths keys;
  std::string name;
};

Subcommand AddAccountCommand(CLI::App& app, bool deactivate) {
  auto o = std::make_shared<AccountOptions>();
  const char* name = deactivate ? "deactivate" : "reactivate";
  CLI::App* cmd = app.add_subcommand(
      name, deactivate ? "stop an account from signing in and receiving (keeps its data)"
                       : "undo deactivate");
  AddDataDirOption(cmd, &o->data_dir);
  AddKeyFileOptions(cmd, &o->keys);
  cmd->add_option("--name", o->name, "the account's handle")->required();
  return {cmd, [o, deactivate, name] {
            absl::Status s =
                OpenOperatorBackend(o->data_dir, o->keys)->SetDeactivated(o->name, deactivate);
            if (!s.ok()) return Fail(name, s);
            std::cout << o->name << (deactivate ? " deactivated" : " reactivated") << std::endl;
            return 0;
          }};
}

}  // namespace

Subcommand AddDeactivateCommand(CLI::App& app) { return AddAccountCommand(app, true); }
Subcommand AddReactivateCommand(CLI::App& app) { return AddAccountCommand(app, false); }

}  // namespace sotto::server::cli
