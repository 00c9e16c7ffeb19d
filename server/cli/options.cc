#include "server/cli/options.h"

#include <iostream>

namespace sotto::server::cli {

void AddDataDirOption(CLI::App* command, std::string* dir) {
  command->add_option("--data-dir", *dir, "the server's data directory")->required();
}

void AddKeyFileOptions(CLI::App* command, KeyFilePaths* keys) {
  command->add_option("--audit-key-file", keys->audit_key,
                      "the audit chain's MAC key, outside the data directory (default "
                      "DATA_DIR.audit-key)");
  command->add_option(
      "--code-pepper-file", keys->code_pepper,
      "the key of stored enrolment and invite codes (default DATA_DIR.code-pepper)");
}

int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "sotto-server " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace sotto::server::cli
